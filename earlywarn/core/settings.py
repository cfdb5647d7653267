"""Settings: one frozen object, loaded once at the edge and passed down.

Sources, strongest first: ``EARLYWARN_*`` environment variables, then ``earlywarn.toml`` in the
home folder, then the defaults below. A TOML table is flattened with ``_`` (``[smtp] host = ...``
is ``smtp_host``). Secrets (the SMTP password) are read only from the environment, or from the
file named by ``EARLYWARN_SMTP_PASSWORD_FILE``; a password in the TOML file is refused.

Every field is documented in the README's settings table; a test keeps the two in step.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from earlywarn.core.errors import SettingsError

SETTINGS_FILE = "earlywarn.toml"
_SECRET_FIELDS = frozenset({"smtp_password", "secret_key"})
# EARLYWARN_* variables that are not settings but are read elsewhere (all others must be settings).
_OTHER_VARIABLES = frozenset({"EARLYWARN_HOME", "EARLYWARN_SMTP_PASSWORD_FILE", "EARLYWARN_ACTOR"})
_PATH_FIELDS = ("data_dir", "templates_dir")


class Settings(BaseSettings):
    """Everything an operator can set. Paths are resolved against ``home``."""

    model_config = SettingsConfigDict(env_prefix="EARLYWARN_", frozen=True, extra="forbid")

    home: Path = Field(default_factory=Path.cwd, description="Folder that holds all state.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the state database; default sqlite:///<home>/earlywarn.db.",
    )
    data_dir: Path | None = Field(
        default=None, description="Institution data folder the scheduler scores each week."
    )

    # Features
    pass_score: float = Field(
        default=50.0, ge=0, le=100, description="Score at which an assessment counts as passed."
    )

    # Training and the promotion guard
    seed: int = Field(default=42, description="Random seed for training and generation.")
    include_sensitive_attributes: bool = Field(
        default=False,
        description="Let the model use age and country group (audit always does).",
    )
    promote_week: int = Field(
        default=4,
        ge=1,
        description="Checkpoint week the promotion guard records when no window week is held.",
    )
    promote_auc_tolerance: float = Field(
        default=0.005, ge=0, description="How much lower a challenger's AUC may be and still win."
    )
    # 0.05: at week 4 of the default synthetic test cohort (1,586 students), a perfectly calibrated
    # model's ECE (10 bins) averages 0.020 and exceeds 0.031 one time in twenty (ece_floor and
    # ece_floor_p95 in `earlywarn train --json`); a lower bar refuses models for noise alone.
    promote_max_ece: float = Field(
        default=0.05, gt=0, description="Largest calibration error (ECE) a promoted model may have."
    )
    promote_max_calibration_gap: float = Field(
        default=0.05,
        ge=0,
        description="Largest calibration gap between groups, beyond its noise, a promoted model "
        "may have.",
    )

    # The driver analysis
    driver_min_courses: int = Field(
        default=30,
        ge=1,
        description="Fewest first-term courses a course-design driver's estimate must rest on to "
        "be reported as a finding; below it the report marks the estimate as a hint.",
    )

    # Scoring and digests
    tier_high: float = Field(
        default=0.5, gt=0, lt=1, description="Risk of not being retained at or above which: high."
    )
    # 0.4: on the default synthetic institution (28% not retained) this lists about a quarter of
    # the first-term students, four or five per advisor; 0.3 listed half of them.
    tier_medium: float = Field(
        default=0.4, gt=0, lt=1, description="Risk at or above which a student is medium tier."
    )
    digest_max_students: int = Field(
        default=10, ge=1, description="Most students listed in one advisor's digest."
    )
    digest_worse_margin: float = Field(
        default=0.05, ge=0, description="Week-over-week rise in risk that marks a student worse."
    )
    drift_psi_warning: float = Field(
        default=0.25,
        gt=0,
        description="Smallest population stability index that can raise a drift alarm.",
    )
    drift_false_alarm_rate: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description=(
            "Chance that a scoring run with no change in the data raises a drift alarm by "
            "sampling noise alone (shared by all features checked)."
        ),
    )
    templates_dir: Path | None = Field(
        default=None, description="Folder of templates that override the shipped ones."
    )

    # Email
    smtp_host: str = Field(default="localhost", description="SMTP server host.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        default="starttls", description="Transport security: none, starttls or ssl."
    )
    smtp_user: str | None = Field(default=None, description="SMTP login user.")
    smtp_password: SecretStr | None = Field(
        default=None, description="SMTP password (environment or *_FILE only)."
    )
    smtp_timeout: float = Field(default=30.0, gt=0, description="SMTP timeout, seconds.")
    mail_from: str = Field(
        default="earlywarn@localhost", description="From address of every message."
    )
    operator_email: str | None = Field(
        default=None, description="Where operator summaries go (students without an advisor)."
    )
    list_unsubscribe: str | None = Field(
        default=None, description="Value of the List-Unsubscribe header, when set."
    )

    # Delivery: how long a message may wait in the outbox (defaults after Postfix's
    # maximal_queue_lifetime, minimal_backoff_time and maximal_backoff_time)
    delivery_max_attempts: int = Field(
        default=10, ge=1, description="Tries after which a message is marked failed."
    )
    delivery_queue_lifetime_days: float = Field(
        default=5.0, gt=0, description="Days a message may stay pending before it is failed."
    )
    delivery_min_backoff_seconds: int = Field(
        default=300, ge=1, description="Wait before retrying a deferred message (doubles)."
    )
    delivery_max_backoff_seconds: int = Field(
        default=4000, ge=1, description="Longest wait between tries of a deferred message."
    )

    # Scheduler
    schedule_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon", description="Day of the weekly scoring and digest run."
    )
    schedule_hour: int = Field(default=7, ge=0, le=23, description="Local hour of the weekly run.")
    schedule_minute: int = Field(default=0, ge=0, le=59, description="Minute of the weekly run.")
    schedule_timezone: str = Field(default="UTC", description="IANA time zone of the schedule.")
    retrain_schedule: str | None = Field(
        default=None,
        description="Retraining schedule, 'DAY HH:MM' in schedule_timezone; off when unset.",
    )

    # The feedback app (earlywarn serve), its signed links and what feedback changes
    base_url: str | None = Field(
        default=None,
        description="Address advisors reach earlywarn serve at; digest links start with it.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Key that signs the digest's links (environment only)."
    )
    link_max_age_days: int = Field(
        default=21, ge=1, description="Days a signed link in a digest keeps working."
    )
    not_at_risk_weeks: int = Field(
        default=4,
        ge=0,
        description="Weeks a student marked not at risk stays out of digests unless the tier rose.",
    )
    student_record_url: str | None = Field(
        default=None, description="Link to a student's record in your systems, with {student_id}."
    )
    holdout_share: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Share of newly flagged students, per tier and term, withheld from digests.",
    )

    scheduler_lease_seconds: int = Field(
        default=60,
        ge=10,
        description="How long a killed scheduler's lock on the state database outlives it.",
    )

    @model_validator(mode="before")
    @classmethod
    def _paths_under_home(cls, data: Any) -> Any:
        """Relative folders are read against the home folder, wherever the command runs from."""
        if not isinstance(data, dict):
            return data
        home = Path(data.get("home") or Path.cwd())
        resolved = dict(data)
        for name in _PATH_FIELDS:
            value = resolved.get(name)
            if value not in (None, ""):
                path = Path(value).expanduser()
                resolved[name] = path if path.is_absolute() else home / path
        return resolved

    @field_validator("templates_dir")
    @classmethod
    def _templates_folder_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a folder; create it, or unset the setting")
        return value

    @field_validator("student_record_url")
    @classmethod
    def _record_url_names_student(cls, value: str | None) -> str | None:
        if value and "{student_id}" not in value:
            raise ValueError(
                "must contain {student_id}, e.g. https://sis.example.edu/s/{student_id}"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must start with http:// or https://, e.g. https://earlywarn.example.edu"
            )
        return value.rstrip("/") if value else value

    @field_validator("schedule_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"{value!r} is not an IANA time zone (for example Europe/Berlin or UTC)"
            ) from exc
        return value

    @field_validator("retrain_schedule")
    @classmethod
    def _weekly_time(cls, value: str | None) -> str | None:
        if value:
            from earlywarn.core.time import parse_weekly_time

            try:
                parse_weekly_time(value)
            except SettingsError as exc:
                raise ValueError(str(exc).removeprefix("retrain_schedule: ")) from exc
        return value

    @model_validator(mode="after")
    def _tiers_ordered(self) -> Settings:
        if self.tier_medium >= self.tier_high:
            raise ValueError(
                f"tier_medium ({self.tier_medium}) must be below tier_high ({self.tier_high}); "
                "set EARLYWARN_TIER_MEDIUM and EARLYWARN_TIER_HIGH (or tier_medium and "
                "tier_high in earlywarn.toml) so that medium < high"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    # Derived locations under the home folder.
    @property
    def state_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'earlywarn.db').resolve()}"

    @property
    def mlruns_dir(self) -> Path:
        return (self.home / "mlruns").resolve()

    @property
    def outbox_dir(self) -> Path:
        return (self.home / "outbox").resolve()


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


def resolve_home(home: Path | str | None = None) -> Path:
    """The home folder: the argument, else ``EARLYWARN_HOME``, else the current directory."""
    chosen = home or os.environ.get("EARLYWARN_HOME") or Path.cwd()
    return Path(chosen).expanduser().resolve()


def load_settings(home: Path | str | None = None, **overrides: Any) -> Settings:
    """Read ``earlywarn.toml`` (if any) and the environment into one frozen :class:`Settings`."""
    home_path = resolve_home(home)
    from_file: dict[str, Any] = {}
    toml_path = home_path / SETTINGS_FILE
    if toml_path.is_file():
        try:
            from_file = _flatten(tomllib.loads(toml_path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_path}: not valid TOML ({exc}); fix the file") from exc
        secrets = _SECRET_FIELDS & from_file.keys()
        if secrets:
            raise SettingsError(
                f"{toml_path}: {', '.join(sorted(secrets))} must not be in a file; set "
                + " or ".join(
                    "EARLYWARN_SMTP_PASSWORD (or EARLYWARN_SMTP_PASSWORD_FILE)"
                    if name == "smtp_password"
                    else f"EARLYWARN_{name.upper()}"
                    for name in sorted(secrets)
                )
                + " in the environment instead"
            )
        unknown = sorted(set(from_file) - set(Settings.model_fields) - {"home"})
        if unknown:
            raise SettingsError(
                f"{toml_path}: unknown setting {unknown[0]!r}; see the README's settings table"
            )
    password_file = os.environ.get("EARLYWARN_SMTP_PASSWORD_FILE")
    if password_file and "EARLYWARN_SMTP_PASSWORD" not in os.environ:
        try:
            overrides.setdefault(
                "smtp_password", Path(password_file).read_text(encoding="utf-8").strip()
            )
        except OSError as exc:
            raise SettingsError(
                f"EARLYWARN_SMTP_PASSWORD_FILE: cannot read {password_file} ({exc.strerror})"
            ) from exc
    env_names = {f"EARLYWARN_{name.upper()}" for name in Settings.model_fields}
    unknown_env = sorted(
        name
        for name in os.environ
        if name.startswith("EARLYWARN_") and name not in env_names | _OTHER_VARIABLES
    )
    if unknown_env:
        raise SettingsError(
            f"{unknown_env[0]}: no such setting; check its spelling against the README's "
            "settings table, or unset it"
        )
    # Environment beats the file: drop file values that the environment sets.
    values = {k: v for k, v in from_file.items() if f"EARLYWARN_{k.upper()}" not in os.environ}
    values.update(overrides)
    values["home"] = home_path
    try:
        return Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        message = str(err["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in err["loc"])
        if not field:  # a rule across settings: its message names them and where to set them
            raise SettingsError(message) from exc
        env_name = f"EARLYWARN_{field.upper()}"
        if env_name in os.environ and env_name in env_names:
            source = env_name
        else:
            source = str(toml_path) if field in from_file else "settings"
        shown = ""
        if field not in _SECRET_FIELDS and err["type"] != "value_error" and "input" in err:
            shown = f" (got {str(err['input'])[:60]!r})"
        advice = "" if ";" in message else "; fix or unset it"  # a message may carry its own
        raise SettingsError(f"{source}: {field}: {message}{shown}{advice}") from exc
