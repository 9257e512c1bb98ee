"""The only modules that talk to the outside world. Each returns plain dataclasses, never ORM objects."""
