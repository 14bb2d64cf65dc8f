"""Command options generated from Pydantic models, so a flag, its default, its help and its
validation live in one place: the model field.

A command body declares its option groups as parameters typed with a model
(`params: DealerParams, run: RunFlags, logs: LogFlags`); `command()` replaces each
with the model's fields as Typer options (`--max-dte-days` for `max_dte_days`),
and calls the body with the built models. Other body parameters (arguments such
as FILE) pass through as declared. A value the model rejects is a usage error.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import annotated_types
import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


def flag_of(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _bounds(info: FieldInfo) -> dict[str, Any]:
    """Inclusive bounds Typer can check while parsing (exclusive ones are left to the model)."""
    bounds: dict[str, Any] = {}
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            bounds["min"] = item.ge
        elif isinstance(item, annotated_types.Le):
            bounds["max"] = item.le
    return bounds


def _option(name: str, info: FieldInfo, default: Any) -> inspect.Parameter:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    declarations = [str(extra.get("flag", flag_of(name)))]
    if "short" in extra:
        declarations.append(str(extra["short"]))
    option = typer.Option(
        *declarations,
        help=info.description,
        show_default=default is not None and not isinstance(default, bool),
        case_sensitive=bool(extra.get("case_sensitive", True)),
        **_bounds(info),
    )
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[info.annotation, option]
    )


def model_options(model: type[BaseModel], defaults: dict[str, Any]) -> list[inspect.Parameter]:
    return [
        _option(name, info, defaults.get(name, info.default))
        for name, info in model.model_fields.items()
        if not info.exclude
    ]


def build(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    """The model from the parsed options; a rejected value is a usage error naming its flag."""
    try:
        return model(**{name: values[name] for name in model.model_fields if name in values})
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        raise typer.BadParameter(first["msg"], param_hint=flag_of(field) if field else None) from None


def given_on_command_line(ctx: typer.Context, models: Iterable[type[BaseModel]]) -> tuple[str, ...]:
    """Names of the models' fields that the user set (on the command line or via the environment)."""
    given = []
    for model in models:
        for name in model.model_fields:
            source = ctx.get_parameter_source(name)
            if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT") and name not in given:
                given.append(name)
    return tuple(given)


def _is_group(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def command(
    app: typer.Typer,
    name: str,
    *,
    defaults: dict[str, Any] | None = None,
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] = lambda f: f,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `body` as the command `name`, its model-typed parameters expanded into options.

    `defaults` replaces a field's default for this command only (shown in --help as such).
    """

    def decorate(body: Callable[..., Any]) -> Callable[..., Any]:
        hints = typing.get_type_hints(body, include_extras=True)
        body_params = list(inspect.signature(body).parameters.values())
        groups = {p.name: hints[p.name] for p in body_params if _is_group(hints.get(p.name))}
        parameters: list[inspect.Parameter] = []
        seen: set[str] = set()
        for p in body_params:
            if p.name in groups:
                for option in model_options(groups[p.name], defaults or {}):
                    if option.name not in seen:  # a field two groups share is one option
                        seen.add(option.name)
                        parameters.append(option.replace(kind=inspect.Parameter.KEYWORD_ONLY))
            else:
                parameters.append(p.replace(annotation=hints.get(p.name, p.annotation)))
        # Typer wants arguments and options in signature order: positional ones first.
        parameters.sort(key=lambda p: p.kind != inspect.Parameter.POSITIONAL_OR_KEYWORD)

        @functools.wraps(body)
        def run(**values: Any) -> Any:
            built = {group: build(model, values) for group, model in groups.items()}
            passed = {p.name: values[p.name] for p in body_params if p.name not in groups}
            return body(**passed, **built)

        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {}
        return app.command(name, help=inspect.getdoc(body))(wrap(run))

    return decorate
