"""The demo portfolio's people, units, objectives and initiatives: plain data, no Django imports.

Kept apart from the seed_demo command so that `python -m portal.launcher demo` can print the demo logins
without setting Django up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_PASSWORD = "pilotlight-demo"


@dataclass(frozen=True)
class DemoUnit:
    slug: str
    name: str
    cost_centre: str
    parent: str = ""  # slug of the parent unit
    head: str = ""  # username


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    title: str
    global_role: str = ""  # a GlobalRole value
    units: tuple[tuple[str, str], ...] = ()  # (unit slug, UnitRole value)
    superuser: bool = False
    login_role: str = ""  # shown in the printed demo logins when set


UNITS: tuple[DemoUnit, ...] = (
    DemoUnit("claims", "Claims", "CC-1100", head="claims-lead"),
    DemoUnit("claims-fraud", "Fraud Investigation", "CC-1120", parent="claims", head="claims-lead"),
    DemoUnit("underwriting", "Underwriting", "CC-1200", head="uw-lead"),
    DemoUnit("retail-banking", "Retail Banking", "CC-2100", head="retail-lead"),
    DemoUnit("retail-cards", "Cards & Payments", "CC-2150", parent="retail-banking", head="retail-lead"),
    DemoUnit("customer-service", "Customer Service", "CC-3100", head="service-lead"),
    DemoUnit("operations", "Operations", "CC-4100", head="ops-lead"),
    DemoUnit("finance", "Finance", "CC-5100", head="finance-lead"),
)
TOP_LEVEL_UNITS = tuple(unit.slug for unit in UNITS if not unit.parent)

USERS: tuple[DemoUser, ...] = (
    DemoUser("cto", "Margaret", "Okafor", "Chief Technology Officer", "Executive",
             login_role="Executive (CTO): the whole portfolio, read-only"),
    DemoUser("admin", "Daniel", "Reyes", "AI Portfolio Manager", "Portfolio admin", superuser=True,
             login_role="Portfolio admin: writes everything, also /admin/"),
    DemoUser("cfo", "Priya", "Raman", "Chief Financial Officer", "Executive"),
    DemoUser("compliance", "Ingrid", "Halvorsen", "Head of AI Compliance", "Compliance officer",
             login_role="Compliance officer: reads everything"),
    DemoUser("auditor", "Samuel", "Achterberg", "Internal Auditor", "Auditor",
             login_role="Auditor: reads everything, writes nothing"),
    DemoUser("claims-lead", "Tomás", "Álvarez", "Head of Claims", units=(("claims", "lead"),),
             login_role="BU lead of Claims (and Fraud Investigation)"),
    DemoUser("uw-lead", "Fiona", "Gallagher", "Chief Underwriting Officer", units=(("underwriting", "lead"),)),
    DemoUser("retail-lead", "Kwame", "Mensah", "Managing Director, Retail Banking",
             units=(("retail-banking", "lead"),), login_role="BU lead of Retail Banking (and Cards & Payments)"),
    DemoUser("service-lead", "Sofia", "Lindqvist", "Director of Customer Service",
             units=(("customer-service", "lead"),)),
    DemoUser("ops-lead", "Rajesh", "Iyer", "Chief Operating Officer", units=(("operations", "lead"),)),
    DemoUser("finance-lead", "Claire", "Dubois", "Group Finance Director", units=(("finance", "lead"),)),
    DemoUser("a.novak", "Ana", "Novak", "Lead Data Scientist, Claims",
             units=(("claims", "contributor"), ("underwriting", "contributor")),
             login_role="Contributor: owns Claims and Underwriting initiatives"),
    DemoUser("l.morgan", "Lucy", "Morgan", "Product Owner, Claims Automation", units=(("claims", "contributor"),)),
    DemoUser("o.haddad", "Omar", "Haddad", "Senior Data Scientist, Pricing", units=(("underwriting", "contributor"),)),
    DemoUser("j.chen", "Jun", "Chen", "ML Engineer",
             units=(("retail-banking", "contributor"), ("finance", "contributor"))),
    DemoUser("s.petrov", "Stefan", "Petrov", "Senior ML Engineer",
             units=(("retail-banking", "contributor"), ("customer-service", "contributor"))),
    DemoUser("e.kowalski", "Ewa", "Kowalski", "Conversational AI Lead", units=(("customer-service", "contributor"),)),
    DemoUser("b.adeyemi", "Bola", "Adeyemi", "Operations Analytics Manager", units=(("operations", "contributor"),)),
    DemoUser("n.tanaka", "Naomi", "Tanaka", "Analytics Engineer",
             units=(("finance", "contributor"), ("operations", "contributor"))),
    DemoUser("viewer", "Peter", "Lindgren", "Strategy Analyst",
             units=(("retail-banking", "viewer"), ("claims", "viewer")),
             login_role="Viewer of Retail Banking and Claims"),
    DemoUser("r.oconnor", "Rachel", "O'Connor", "Business Analyst",
             units=(("operations", "viewer"), ("finance", "viewer"))),
)
USERNAMES = tuple(user.username for user in USERS)

# Owners (contributors) and technical leads available in each unit (sub-units inherit from their parent).
OWNERS: dict[str, tuple[str, ...]] = {
    "claims": ("a.novak", "l.morgan"),
    "underwriting": ("o.haddad", "a.novak"),
    "retail-banking": ("j.chen", "s.petrov"),
    "customer-service": ("e.kowalski", "s.petrov"),
    "operations": ("b.adeyemi", "n.tanaka"),
    "finance": ("n.tanaka", "j.chen"),
}

# (key, title, unit slug or "" for company-wide, owner username, years until the target date)
OBJECTIVES: tuple[tuple[str, str, str, str, int], ...] = (
    ("claims-cost", "Cut claims handling cost 20% by 2027", "claims", "claims-lead", 2),
    ("fraud-leakage", "Reduce fraud leakage by EUR 15m a year", "claims-fraud", "claims-lead", 2),
    ("pricing-accuracy", "Price risk within 2% of loss experience", "underwriting", "uw-lead", 2),
    ("digital-revenue", "Grow digital retail revenue 10% a year", "retail-banking", "retail-lead", 3),
    ("self-service", "Resolve 60% of customer contacts without an agent", "customer-service", "service-lead", 2),
    ("cost-to-serve", "Lower operational cost-to-serve 15%", "operations", "ops-lead", 2),
    ("fast-close", "Close the books in three working days", "finance", "finance-lead", 1),
    ("ai-in-production", "Ten AI products in production by the end of next year", "", "cto", 1),
    ("responsible-ai", "Every AI system classified and assessed under the EU AI Act", "", "compliance", 1),
)


@dataclass(frozen=True)
class KPITemplate:
    name: str
    category: str
    unit: str
    direction: str  # "up" or "down"
    baseline: float
    target: float
    value_per_unit: float | None  # EUR per unit of improvement
    cadence: str = "weekly"
    decimals: int = 1


K = KPITemplate
# KPI templates per unit; every initiative picks 2-4 of its unit's pool (the first one always).
KPI_POOLS: dict[str, tuple[KPITemplate, ...]] = {
    "claims": (
        K("Average claim handling time", "efficiency", "hours", "down", 6.5, 4.0, 180_000),
        K("Straight-through processing rate", "efficiency", "%", "up", 18, 45, 42_000),
        K("Cost per claim", "cost_reduction", "EUR", "down", 118, 92, 21_000, "monthly", 2),
        K("Claims reopened within 30 days", "risk", "%", "down", 7.5, 4.5, 60_000),
        K("Adjuster NPS", "satisfaction", "points", "up", 12, 30, None, "monthly", 0),
    ),
    "claims-fraud": (
        K("Fraud detected before payment", "risk", "EUR k/month", "up", 420, 760, 1_000, "monthly", 0),
        K("False-positive referral rate", "efficiency", "%", "down", 62, 40, 9_000),
        K("Investigator hours per confirmed case", "efficiency", "hours", "down", 14, 9, 11_000),
    ),
    "underwriting": (
        K("Quote turnaround time", "efficiency", "hours", "down", 52, 24, 15_000),
        K("Loss ratio deviation from plan", "risk", "pp", "down", 4.8, 2.0, 350_000, "monthly", 2),
        K("Submissions triaged automatically", "efficiency", "%", "up", 10, 55, 12_000),
        K("Bind rate on priority submissions", "revenue_uplift", "%", "up", 21, 28, 95_000, "monthly"),
    ),
    "retail-banking": (
        K("Digital product sales", "revenue_uplift", "sales/week", "up", 1_450, 1_900, 310, "weekly", 0),
        K("Next-best-offer acceptance rate", "revenue_uplift", "%", "up", 2.1, 3.6, 240_000, "weekly", 2),
        K("Customer churn (12-month rolling)", "risk", "%", "down", 9.2, 7.5, 410_000, "monthly", 2),
        K("Active users of the AI feature", "adoption", "users", "up", 0, 120_000, None, "weekly", 0),
        K("App store rating", "satisfaction", "stars", "up", 3.9, 4.4, None, "monthly", 2),
    ),
    "retail-cards": (
        K("Card fraud losses", "risk", "EUR k/month", "down", 830, 560, 1_000, "monthly", 0),
        K("Declined genuine transactions", "satisfaction", "per 10k", "down", 41, 25, 3_500),
        K("Dispute resolution time", "efficiency", "days", "down", 11, 6, 28_000),
    ),
    "customer-service": (
        K("Contacts resolved without an agent", "efficiency", "%", "up", 22, 55, 65_000),
        K("Average handle time", "efficiency", "minutes", "down", 8.4, 6.0, 210_000),
        K("Customer satisfaction (CSAT)", "satisfaction", "%", "up", 78, 86, None, "weekly"),
        K("First-contact resolution", "efficiency", "%", "up", 64, 75, 48_000),
        K("Agent adoption of AI assist", "adoption", "%", "up", 0, 80, None, "weekly", 0),
    ),
    "operations": (
        K("Invoice processing cost", "cost_reduction", "EUR/invoice", "down", 7.9, 4.2, 95_000, "monthly", 2),
        K("Forecast error (MAPE)", "efficiency", "%", "down", 18, 9, 70_000),
        K("Unplanned downtime", "cost_reduction", "hours/month", "down", 46, 20, 6_500, "monthly"),
        K("Orders processed per FTE", "efficiency", "orders/day", "up", 140, 210, 1_800, "weekly", 0),
    ),
    "finance": (
        K("Days to close", "efficiency", "days", "down", 8, 3, 85_000, "monthly", 0),
        K("Manual journal entries", "efficiency", "entries/month", "down", 2_400, 900, 45, "monthly", 0),
        K("Cash forecast accuracy", "risk", "%", "up", 82, 95, 40_000, "weekly"),
        K("Payment runs with exceptions", "risk", "%", "down", 6, 2, 25_000, "weekly"),
    ),
}


@dataclass(frozen=True)
class DemoInitiative:
    unit: str
    name: str
    ai_type: str
    problem: str
    hypothesis: str
    path: str  # the story of its stage moves, see seed_demo.PATHS
    objectives: tuple[str, ...] = field(default_factory=tuple)


DI = DemoInitiative
# About sixty initiatives. `path` names the stage story the seed replays with dated transitions:
# idea, discovery, discovery_pivot, pilot, pilot_purgatory, pilot_pivot, production, scaled, retired,
# production_paused, retired_scaled, on_hold, on_hold_pilot, cancelled, cancelled_hold.
INITIATIVES: tuple[DemoInitiative, ...] = (
    # Claims
    DI("claims", "Claims triage assistant", "predictive_ml",
      "Every new claim waits in one queue; simple claims wait as long as complex ones.",
      "Routing the 40% simple claims to fast-track cuts average handling time by a third.", "scaled",
      ("claims-cost", "ai-in-production")),
    DI("claims", "Damage photo assessment", "computer_vision",
      "Motor damage is assessed by a field adjuster visit costing EUR 180 on average.",
      "Estimating repair cost from customer photos removes half of the adjuster visits.", "production",
      ("claims-cost", "ai-in-production")),
    DI("claims", "Medical report summariser", "generative",
      "Adjusters read 30-page medical reports for bodily-injury claims.",
      "LLM summaries with cited passages halve reading time without missing liability facts.", "pilot_purgatory",
      ("claims-cost",)),
    DI("claims", "Subrogation opportunity finder", "predictive_ml",
      "Recoverable claims are missed because nobody checks third-party liability systematically.",
      "Scoring every closed claim for recovery potential adds EUR 2m a year in recoveries.", "pilot",
      ("claims-cost",)),
    DI("claims", "Claims correspondence drafting", "generative",
      "Letters to claimants are written by hand and are inconsistent in tone.",
      "Drafted letters reviewed by adjusters save 20 minutes per claim.", "pilot_purgatory", ("claims-cost",)),
    DI("claims", "Reserve estimation model", "predictive_ml",
      "Initial reserves are set by rule of thumb and revised three times on average.",
      "A model-based first reserve cuts revisions by half and improves IBNR accuracy.", "production",
      ("claims-cost",)),
    DI("claims", "Litigation propensity score", "predictive_ml",
      "Claims that end in litigation cost four times more and are spotted too late.",
      "Flagging likely litigation at first notice lets senior adjusters settle early.", "discovery",
      ("claims-cost",)),
    DI("claims", "Claims call transcription", "nlp",
      "Notes from claimant calls are incomplete and typed after the call.",
      "Automatic transcripts and summaries free ten minutes per call.", "retired", ("claims-cost",)),
    DI("claims", "Adjuster scheduling optimiser", "optimisation",
      "Field adjusters drive 30% more than needed because visits are planned by hand.",
      "Route and schedule optimisation cuts mileage by a quarter.", "idea", ("claims-cost",)),
    DI("claims", "FNOL chatbot", "agent",
      "First notice of loss by phone takes 14 minutes and peaks after storms.",
      "A guided chat intake handles half of simple FNOLs around the clock.", "cancelled", ("claims-cost",)),
    # Fraud investigation (sub-unit of Claims)
    DI("claims-fraud", "Fraud network graph analytics", "predictive_ml",
      "Organised fraud rings reuse garages, phones and bank accounts across claims.",
      "Graph features surface rings that single-claim rules never see.", "scaled", ("fraud-leakage",)),
    DI("claims-fraud", "Fraud referral scoring", "predictive_ml",
      "Two thirds of fraud referrals turn out genuine, wasting investigator time.",
      "A calibrated score cuts false-positive referrals to 40%.", "production", ("fraud-leakage",)),
    DI("claims-fraud", "Document forgery detection", "computer_vision",
      "Forged invoices and medical certificates are found only in manual audits.",
      "Image forensics flags edited documents before payment.", "pilot_purgatory", ("fraud-leakage",)),
    DI("claims-fraud", "Investigator case copilot", "generative",
      "Investigators spend a day assembling evidence for each case file.",
      "An assistant that collects and cites evidence halves preparation time.", "idea", ("fraud-leakage",)),
    # Underwriting
    DI("underwriting", "Submission intake and triage", "nlp",
      "Brokers email 3,000 commercial submissions a month in free-form documents.",
      "Extracting and triaging submissions lets underwriters quote the best risks first.", "scaled",
      ("pricing-accuracy", "ai-in-production")),
    DI("underwriting", "Property risk from aerial imagery", "computer_vision",
      "Roof condition and vegetation risk are self-declared and often wrong.",
      "Aerial imagery features reduce loss-ratio deviation on property books.", "pilot_pivot",
      ("pricing-accuracy",)),
    DI("underwriting", "Dynamic pricing for SME packages", "predictive_ml",
      "SME package prices are revised once a year and lag claims experience.",
      "Monthly model-based rate adjustments bring the loss ratio within 2% of plan.", "production",
      ("pricing-accuracy",)),
    DI("underwriting", "Underwriting guidelines assistant", "generative",
      "Junior underwriters search a 900-page guideline manual for every referral.",
      "A grounded Q&A assistant answers guideline questions with citations.", "pilot_purgatory",
      ("pricing-accuracy",)),
    DI("underwriting", "Cyber risk questionnaire scoring", "predictive_ml",
      "Cyber submissions arrive with long questionnaires that are scored inconsistently.",
      "A consistent score improves bind rate on good risks.", "discovery", ("pricing-accuracy",)),
    DI("underwriting", "Broker appetite matching", "predictive_ml",
      "A third of submissions fall outside appetite but still take underwriter time.",
      "Predicting appetite fit at intake declines poor fits automatically.", "on_hold", ("pricing-accuracy",)),
    DI("underwriting", "Climate exposure accumulation", "optimisation",
      "Flood and wind accumulations are recalculated quarterly in spreadsheets.",
      "Daily accumulation with scenario optimisation keeps exposure within appetite.", "idea",
      ("pricing-accuracy",)),
    DI("underwriting", "Renewal retention model", "predictive_ml",
      "Profitable renewals lapse without a call from the underwriter.",
      "Targeting retention calls at profitable at-risk renewals lifts bind rate.", "retired_scaled",
      ("pricing-accuracy",)),
    # Retail banking
    DI("retail-banking", "Next-best-offer engine", "predictive_ml",
      "Customers see the same generic offers in the app regardless of their situation.",
      "Personalised offers double acceptance and add 450 digital sales a week.", "scaled",
      ("digital-revenue", "ai-in-production")),
    DI("retail-banking", "Mortgage document checker", "computer_vision",
      "Mortgage applications stall for days on missing or unreadable documents.",
      "Instant document checks at upload cut time-to-offer by a week.", "production_paused", ("digital-revenue",)),
    DI("retail-banking", "Churn early-warning", "predictive_ml",
      "Customers move their salary away before anyone notices.",
      "Predicting churn 60 days ahead lets relationship managers keep 1.5% more customers.", "production",
      ("digital-revenue",)),
    DI("retail-banking", "In-app money coach", "generative",
      "Customers ask budgeting questions the app cannot answer.",
      "A money coach grounded in the customer's own transactions raises engagement and product uptake.",
      "pilot_purgatory", ("digital-revenue",)),
    DI("retail-banking", "Credit limit optimisation", "optimisation",
      "Overdraft limits are set once at onboarding and never reviewed.",
      "Optimised limits grow balances without raising defaults.", "pilot", ("digital-revenue",)),
    DI("retail-banking", "Branch staffing forecast", "predictive_ml",
      "Branches are over-staffed mid-week and queue out on Mondays.",
      "Forecasting footfall by hour aligns rotas and cuts overtime.", "retired", ("digital-revenue",)),
    DI("retail-banking", "KYC document extraction", "nlp",
      "Onboarding teams retype data from passports and utility bills.",
      "Automatic extraction halves onboarding effort and abandonment.", "discovery_pivot", ("digital-revenue",)),
    DI("retail-banking", "Savings nudges", "predictive_ml",
      "Few customers use the round-up savings feature.",
      "Timely nudges to the right customers triple active savers.", "idea", ("digital-revenue",)),
    DI("retail-banking", "Voice banking agent", "agent",
      "Simple balance and payment requests go to the contact centre.",
      "A voice agent completes simple requests end to end.", "cancelled_hold", ("digital-revenue",)),
    # Cards & payments (sub-unit of Retail Banking)
    DI("retail-cards", "Real-time card fraud scoring", "predictive_ml",
      "The rules engine misses new fraud patterns and declines genuine customers abroad.",
      "A streaming model catches 30% more fraud with fewer false declines.", "scaled",
      ("digital-revenue", "ai-in-production")),
    DI("retail-cards", "Dispute classification", "nlp",
      "Card disputes arrive as free text and are routed by hand.",
      "Classifying disputes at intake cuts resolution time to six days.", "pilot", ("digital-revenue",)),
    DI("retail-cards", "Merchant name enrichment", "nlp",
      "Customers do not recognise cryptic merchant names and raise disputes.",
      "Clean merchant names and logos cut 'unrecognised transaction' disputes.", "pilot_purgatory",
      ("digital-revenue",)),
    DI("retail-cards", "Authorisation routing optimiser", "optimisation",
      "Cross-border authorisations take the most expensive scheme route.",
      "Optimising routing saves interchange fees on every transaction.", "discovery", ("digital-revenue",)),
    # Customer service
    DI("customer-service", "Agent assist knowledge search", "generative",
      "Agents search five systems while the customer waits.",
      "Grounded answers in the agent desktop cut handle time by 90 seconds.", "production",
      ("self-service", "ai-in-production")),
    DI("customer-service", "Contact reason classifier", "nlp",
      "Contact reasons are coded by agents after the call and are unreliable.",
      "Automatic coding shows what drives demand and where self-service helps.", "scaled", ("self-service",)),
    DI("customer-service", "Customer service chatbot 2.0", "generative",
      "The rule-based chatbot resolves 8% of chats and frustrates customers.",
      "An LLM chatbot with guarded actions resolves half of simple chats.", "pilot_purgatory", ("self-service",)),
    DI("customer-service", "Complaint severity detection", "nlp",
      "Regulatory complaints hide among routine emails and miss deadlines.",
      "Flagging severe complaints on arrival keeps every regulatory deadline.", "production", ("self-service",)),
    DI("customer-service", "Call summarisation", "generative",
      "Agents spend 90 seconds writing wrap-up notes after each call.",
      "Automatic summaries remove wrap-up time and improve note quality.", "pilot", ("self-service",)),
    DI("customer-service", "Sentiment-based callback", "predictive_ml",
      "Unhappy customers leave without anyone following up.",
      "Calling back customers with negative sentiment lifts CSAT and retention.", "on_hold_pilot",
      ("self-service",)),
    DI("customer-service", "Workforce demand forecast", "predictive_ml",
      "Contact-centre staffing misses demand peaks by 20%.",
      "Better forecasts cut both queues and idle time.", "discovery", ("self-service",)),
    DI("customer-service", "Email auto-response", "generative",
      "Customer emails wait two days for an answer.",
      "Drafted replies approved by agents answer the same day.", "cancelled", ("self-service",)),
    DI("customer-service", "Quality assurance scoring", "nlp",
      "Only 2% of calls are quality-checked by supervisors.",
      "Scoring every call focuses coaching where it matters.", "idea", ("self-service",)),
    # Operations
    DI("operations", "Invoice processing automation", "nlp",
      "Supplier invoices are keyed by hand at EUR 7.90 each.",
      "Extraction and matching bring the cost per invoice under EUR 4.20.", "scaled",
      ("cost-to-serve", "ai-in-production")),
    DI("operations", "Predictive maintenance for data-centre cooling", "predictive_ml",
      "Cooling failures cause unplanned downtime twice a quarter.",
      "Predicting failures from sensor data halves unplanned downtime.", "production", ("cost-to-serve",)),
    DI("operations", "Print and mail volume forecast", "predictive_ml",
      "Print capacity is booked on last year's volumes and often wasted.",
      "Forecasting volumes cuts print costs by 15%.", "retired", ("cost-to-serve",)),
    DI("operations", "Back-office task routing", "optimisation",
      "Work items wait in team queues while other teams are idle.",
      "Skill-based routing lifts orders processed per FTE by half.", "pilot_purgatory", ("cost-to-serve",)),
    DI("operations", "IT service desk agent", "agent",
      "Password resets and access requests make up 40% of service-desk tickets.",
      "An agent that resolves routine tickets end to end frees two FTE.", "pilot", ("cost-to-serve",)),
    DI("operations", "Vendor contract analyser", "generative",
      "Contract renewals roll over without anyone checking the terms.",
      "Extracting renewal dates and price clauses avoids unwanted renewals.", "discovery", ("cost-to-serve",)),
    DI("operations", "Document archive classification", "nlp",
      "Ten million scanned documents have no retention class.",
      "Automatic classification enables deletion on schedule and cuts storage.", "on_hold", ("cost-to-serve",)),
    DI("operations", "Supplier risk monitoring", "nlp",
       "Supplier failures and sanctions hits are discovered from the news, weeks late.",
       "Screening news and filings daily warns category managers before supply is disrupted.", "production",
       ("cost-to-serve",)),
    DI("operations", "Energy usage optimisation", "optimisation",
      "Office buildings are heated and lit on fixed schedules.",
      "Occupancy-driven control cuts energy cost by 12%.", "idea", ("cost-to-serve",)),
    # Finance
    DI("finance", "Automated account reconciliation", "predictive_ml",
      "Reconciliations are matched by hand in spreadsheets at month end.",
      "Learned matching rules clear 90% of items and shorten the close.", "production",
      ("fast-close", "ai-in-production")),
    DI("finance", "Cash-flow forecasting", "predictive_ml",
      "The 13-week cash forecast is compiled by hand from business-unit spreadsheets.",
      "A model-based forecast is more accurate and ready every Monday.", "pilot", ("fast-close",)),
    DI("finance", "Expense anomaly detection", "predictive_ml",
      "Expense claims are sampled randomly for audit.",
      "Risk-based sampling finds three times more policy breaches.", "pilot_pivot", ("fast-close",)),
    DI("finance", "Management commentary drafting", "generative",
      "Controllers spend two days writing variance commentary each month.",
      "Drafted commentary from the ledger cuts this to half a day.", "pilot_purgatory", ("fast-close",)),
    DI("finance", "Journal entry anomaly detection", "predictive_ml",
      "Unusual manual journals are found late by external audit.",
      "Scoring every journal finds errors before the close.", "discovery_pivot", ("fast-close",)),
    DI("finance", "Procurement spend classification", "nlp",
      "A third of spend sits in 'miscellaneous' and cannot be negotiated.",
      "Classifying spend lines reveals EUR 3m in consolidation savings.", "idea", ("fast-close",)),
    DI("finance", "Payment exception resolution", "agent",
      "Failed payment runs need manual investigation across three systems.",
      "An agent that investigates and proposes fixes halves exceptions.", "discovery", ("fast-close",)),
)
