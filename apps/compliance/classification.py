"""The EU AI Act risk-classification questionnaire: questions as data, and a pure function from answers to a risk
tier and operator role with the reasons. No I/O; services.classification_record stores the outcome.

Our own plain-language questions, pointing at the article each one comes from. The logic follows the Act's
structure: prohibited practices (Art. 5) first, then high risk (Art. 6(1) Annex I products, Art. 6(2) Annex III
areas with the Art. 6(3) derogation, which never applies when the system profiles people), then the transparency
cases (Art. 50), else minimal. The operator role follows Art. 3 and Art. 25 (substantial modification makes a
deployer, importer or distributor the provider of a high-risk system).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.portfolio.choices import OperatorRole, RiskTier


@dataclass(frozen=True)
class Question:
    key: str
    section: str
    text: str
    reference: str
    choices: tuple[tuple[str, str], ...] = ()  # empty: a yes/no question

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)


PROHIBITED = "Prohibited practices (Art. 5)"
HIGH = "High risk (Art. 6, Annex I and III)"
TRANSPARENCY = "Transparency (Art. 50)"
GPAI = "General-purpose AI (Art. 51–55)"
ROLE = "Your role (Art. 3, Art. 25)"

ANNEX_III_AREAS = (
    ("none", "None of these"),
    ("biometrics", "Biometrics: remote identification, categorisation by sensitive traits, emotion recognition"),
    ("critical_infrastructure", "Safety component of critical infrastructure (traffic, water, gas, heating, power, "
                                "digital infrastructure)"),
    ("education", "Education and vocational training: admission, assessment, proctoring"),
    ("employment", "Employment: recruiting, selection, promotion, termination, task allocation, monitoring workers"),
    ("essential_services", "Essential services: public benefits, creditworthiness or credit scoring, life and health "
                           "insurance risk and pricing, emergency-call triage"),
    ("law_enforcement", "Law enforcement"),
    ("migration", "Migration, asylum and border control"),
    ("justice_democracy", "Administration of justice and democratic processes (e.g. influencing elections)"),
)
ROLE_CHOICES = (
    ("provider", "We develop it (or have it developed) and put it into service or on the market under our name"),
    ("deployer", "We use a system supplied by someone else, under our own authority"),
    ("importer", "We bring a system from a provider outside the EU onto the EU market"),
    ("distributor", "We make a system by another provider available, without changing it"),
)

QUESTIONS: tuple[Question, ...] = (
    Question("p_manipulation", PROHIBITED, "Does it use subliminal, manipulative or deceptive techniques, or exploit "
             "people's vulnerabilities (age, disability, social or economic situation), in a way likely to cause "
             "significant harm?", "Art. 5(1)(a)–(b)"),
    Question("p_social_scoring", PROHIBITED, "Does it score or classify people by their social behaviour or personal "
             "traits, leading to unjustified or unrelated detrimental treatment?", "Art. 5(1)(c)"),
    Question("p_crime_prediction", PROHIBITED, "Does it predict whether a person will commit a crime based only on "
             "profiling or personality traits?", "Art. 5(1)(d)"),
    Question("p_face_scraping", PROHIBITED, "Does it build or expand facial-recognition databases by untargeted "
             "scraping of images from the internet or CCTV?", "Art. 5(1)(e)"),
    Question("p_emotion_workplace", PROHIBITED, "Does it infer emotions of people at work or in education (other than "
             "for medical or safety reasons)?", "Art. 5(1)(f)"),
    Question("p_biometric_categorisation", PROHIBITED, "Does it categorise people from biometric data to infer race, "
             "political opinions, trade-union membership, religion, sex life or sexual orientation?", "Art. 5(1)(g)"),
    Question("p_realtime_rbi", PROHIBITED, "Is it real-time remote biometric identification in publicly accessible "
             "spaces for law enforcement?", "Art. 5(1)(h)"),
    Question("annex_i_product", HIGH, "Is it a product, or a safety component of a product, covered by the EU product "
             "legislation in Annex I (machinery, medical devices, toys, lifts, vehicles, ...) that needs a "
             "third-party conformity assessment?", "Art. 6(1), Annex I"),
    Question("annex_iii_area", HIGH, "Is it intended for one of these uses?", "Art. 6(2), Annex III", ANNEX_III_AREAS),
    Question("profiling", HIGH, "Does it profile natural persons (automated evaluation of personal aspects such as "
             "performance, economic situation, health, preferences, behaviour)?", "Art. 6(3), GDPR Art. 4(4)"),
    Question("narrow_task", HIGH, "In that Annex III use, does it only perform a narrow procedural or preparatory "
             "task, or improve a completed human activity, without materially influencing the decision?",
             "Art. 6(3)"),
    Question("t_interacts", TRANSPARENCY, "Does it interact directly with people (chatbot, voice or e-mail agent)?",
             "Art. 50(1)"),
    Question("t_synthetic", TRANSPARENCY, "Does it generate synthetic audio, images, video or text?", "Art. 50(2)"),
    Question("t_emotion_biometric", TRANSPARENCY, "Does it recognise emotions or categorise people from biometric data "
             "(in a permitted setting)?", "Art. 50(3)"),
    Question("t_deepfake", TRANSPARENCY, "Does it produce deep fakes, or publish AI-generated text informing the "
             "public on matters of public interest?", "Art. 50(4)"),
    Question("gpai_uses", GPAI, "Is it built on a general-purpose AI model (for example a large language model)?",
             "Art. 3(63)"),
    Question("gpai_provides", GPAI, "Do we place a general-purpose AI model on the market ourselves (train one, or "
             "modify one substantially and make it available)?", "Art. 53"),
    Question("role", ROLE, "What is our role for this system?", "Art. 3(3)–(7)", ROLE_CHOICES),
    Question("substantial_modification", ROLE, "Do we put our name on, or substantially modify, a high-risk system "
             "that another provider placed on the market?", "Art. 25(1)"),
)
QUESTION_BY_KEY = {question.key: question for question in QUESTIONS}
PROHIBITED_KEYS = [q.key for q in QUESTIONS if q.section == PROHIBITED]
TRANSPARENCY_KEYS = [q.key for q in QUESTIONS if q.section == TRANSPARENCY]


@dataclass(frozen=True)
class Outcome:
    risk_tier: str
    operator_role: str
    rationale: list[str]


def clean_answers(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalise answers (yes/no to bool, choices checked); returns (answers, errors per question key)."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    unknown = sorted(set(raw) - set(QUESTION_BY_KEY))
    for key in unknown:
        errors[key] = "Not a question of the classification questionnaire."
    for question in QUESTIONS:
        value = raw.get(question.key)
        if question.is_choice:
            allowed = [choice for choice, _ in question.choices]
            default = allowed[0]
            value = default if value in (None, "") else str(value)
            if value not in allowed:
                errors[question.key] = f"Choose one of: {', '.join(allowed)}."
            answers[question.key] = value
        else:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in {"", "false", "no", "0", "off"}:
                    value = False
                elif lowered in {"true", "yes", "1", "on"}:
                    value = True
                else:
                    errors[question.key] = "Answer yes or no (true / false)."
                    continue
            answers[question.key] = bool(value)
    return answers, errors


def classify(answers: dict[str, Any]) -> Outcome:
    """Risk tier, operator role and the reasons, from cleaned answers."""
    reasons: list[str] = []
    prohibited = [QUESTION_BY_KEY[key] for key in PROHIBITED_KEYS if answers.get(key)]
    area = answers.get("annex_iii_area", "none")
    area_label = dict(ANNEX_III_AREAS).get(area, area)
    if prohibited:
        tier = RiskTier.PROHIBITED
        reasons.extend(f"Prohibited practice ({q.reference}): {q.text}" for q in prohibited)
    elif answers.get("annex_i_product"):
        tier = RiskTier.HIGH
        reasons.append("High risk under Art. 6(1): a product or safety component covered by Annex I legislation "
                       "that needs third-party conformity assessment.")
    elif area != "none" and answers.get("profiling"):
        tier = RiskTier.HIGH
        reasons.append(f"High risk under Art. 6(2), Annex III ({area_label}); it profiles people, so the Art. 6(3) "
                       "derogation cannot apply.")
    elif area != "none" and not answers.get("narrow_task"):
        tier = RiskTier.HIGH
        reasons.append(f"High risk under Art. 6(2), Annex III ({area_label}).")
    else:
        if area != "none":
            reasons.append(f"Annex III use ({area_label}) but not high risk: the Art. 6(3) derogation applies (narrow "
                           "or preparatory task, no profiling). Keep this assessment documented (Art. 6(4)).")
        transparency = [QUESTION_BY_KEY[key] for key in TRANSPARENCY_KEYS if answers.get(key)]
        if transparency:
            tier = RiskTier.LIMITED
            reasons.extend(f"Transparency obligation ({q.reference}): {q.text}" for q in transparency)
        else:
            tier = RiskTier.MINIMAL
            reasons.append("No prohibited practice, no high-risk use and no transparency case: minimal risk.")
    if answers.get("gpai_provides"):
        reasons.append("We provide a general-purpose AI model: the Art. 53 obligations apply (Art. 55 if it has "
                       "systemic risk).")
    elif answers.get("gpai_uses"):
        reasons.append("Built on a general-purpose AI model provided by someone else: ask the provider for the "
                       "documentation Art. 53(1)(b) entitles downstream providers to.")
    role = answers.get("role", OperatorRole.PROVIDER)
    if tier == RiskTier.HIGH and role != OperatorRole.PROVIDER and answers.get("substantial_modification"):
        reasons.append(f"Role changes from {role} to provider: we put our name on or substantially modify a "
                       "high-risk system (Art. 25(1)).")
        role = OperatorRole.PROVIDER
    else:
        reasons.append(f"Operator role: {OperatorRole(role).label.lower()} ({dict(ROLE_CHOICES)[role].lower()}).")
    return Outcome(risk_tier=str(tier), operator_role=str(role), rationale=reasons)
