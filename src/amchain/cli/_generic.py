"""The commands every module gets from its spec: ``amchain modules``, ``amchain tx MODULE
MESSAGE`` and ``amchain query MODULE QUERY``.

They are built from this release's module specs (so ``--help`` works offline and lists
each field with its type and meaning) and send through the SDK's generic ``tx`` and
``query``, which check the arguments against the schemas the node publishes.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from amchain.api.modules import describe_module
from amchain.cli._common import (
    DataDirOpt,
    JsonOpt,
    NodeOpt,
    client,
    console,
    err_console,
    handle_errors,
    node_url,
    open_keystore,
    print_json,
    print_submit,
    signer_named,
    usage_error,
    want_json,
)
from amchain.cli._fields import FieldError, parse_fields
from amchain.runtime import default_registry
from amchain.sdk import (
    MessageInfo,
    ModuleCatalog,
    ModuleInfo,
    QueryInfo,
    TransportError,
    TxBuildError,
    describe_fields,
)

__all__ = [
    "install_hinted_commands",
    "local_catalog",
    "modules_command",
    "print_answer",
    "query_app",
    "tx_app",
]

tx_app = typer.Typer(
    help="Transactions: any module's message (`amchain tx MODULE MESSAGE --help`), or `show`.",
    no_args_is_help=True,
)
query_app = typer.Typer(
    help="Any module's query (`amchain query MODULE QUERY --help`).", no_args_is_help=True
)


def local_catalog() -> ModuleCatalog:
    """The modules of this release, described as a node describes them."""
    return ModuleCatalog({"modules": [describe_module(s) for s in default_registry().modules]})


def _field_lines(schema: dict[str, Any]) -> str:
    rows = [
        (f.name + ("" if f.required else "?"), f.type, f.meaning) for f in describe_fields(schema)
    ]
    width = min(max((len(name) for name, _, _ in rows), default=0), 36)
    lines = []
    for name, kind, meaning in rows:
        text = f"{name:<{width}}  {kind}"
        if meaning:
            text += f" — {meaning}"
        lines.append(text)
    # "\b": click keeps the paragraph's lines as they are (one field per line).
    return "\b\n" + "\n".join(lines) if lines else "(none)"


def _example_fields(example: dict[str, Any] | None, prefix: str = "") -> list[str]:
    pairs: list[str] = []
    for name, value in (example or {}).items():
        if isinstance(value, dict):
            pairs += _example_fields(value, f"{prefix}{name}.")
        elif isinstance(value, list):
            pairs.append(f"{prefix}{name}={','.join(str(v) for v in value)}")
        else:
            pairs.append(f"{prefix}{name}={value}")
    return pairs


def _read_object(path: Path, option: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        usage_error(f"cannot read JSON from {path}: {exc}", option)
    if not isinstance(value, dict):
        usage_error(f"{path} does not hold a JSON object", option)
    return value


def _tx_help(module: str, message: MessageInfo) -> str:
    example = " ".join(f"--field {p}" for p in _example_fields(message.example))
    lines = [message.summary + "."]
    if message.signers:
        lines.append(f"Signed by {message.signers} (--as, --cosigner).")
    lines.append("Fields (give each as --field NAME=VALUE; ? marks an optional one):")
    lines.append(_field_lines(message.args_schema))
    if example:
        lines.append(f"Example: amchain tx {module} {message.name} {example} --as NAME")
    return "\n\n".join(lines)


def _tx_command(module: str, message: MessageInfo) -> Any:
    @handle_errors
    def send(
        as_: Annotated[str, typer.Option("--as", help="Keystore name of the signing key.")],
        field: Annotated[
            list[str] | None,
            typer.Option("--field", "-f", help="NAME=VALUE, typed by the field; repeatable."),
        ] = None,
        args_file: Annotated[
            Path | None,
            typer.Option("--args-file", dir_okay=False, help="Arguments as a JSON file."),
        ] = None,
        cosigner: Annotated[
            list[str] | None, typer.Option("--cosigner", help="More signers (keystore names).")
        ] = None,
        no_wait: Annotated[
            bool, typer.Option("--no-wait", help="Answer once admitted, not once committed.")
        ] = False,
        node: NodeOpt = None,
        data_dir: DataDirOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        base = None if args_file is None else _read_object(args_file, "--args-file")
        try:
            args = parse_fields(field or [], message.args_schema, base=base)
        except FieldError as exc:
            usage_error(str(exc), "--field")
        keystore = open_keystore(data_dir)
        signers = [signer_named(keystore, as_)]
        signers += [signer_named(keystore, name, "--cosigner") for name in cosigner or []]
        with client(node) as c:
            result = c.tx(
                module, message.name, args, signers=signers, wait=None if no_wait else "commit"
            )
        print_submit(result, as_json=want_json(json_))

    send.__doc__ = _tx_help(module, message)
    return send


def _query_help(module: str, query: QueryInfo) -> str:
    lines = [query.summary + "."]
    if query.method == "POST":
        lines.append("Body fields (NAME=VALUE; ? marks an optional one):")
    else:
        lines.append(
            "Parameters (NAME=VALUE, or the path's "
            f"{', '.join(query.path_params) or 'none'} by position):"
        )
    lines.append(_field_lines(query.params_schema))
    extras = []
    if query.proof == "on_request":
        extras.append("--proof adds a proof bundle (`amchain verify` checks it)")
    if query.historical:
        extras.append("--height N answers as of block N")
    if extras:
        lines.append("; ".join(extras) + ".")
    lines.append(f"Served at {query.method} {query.path}.")
    return "\n\n".join(lines)


def _query_command(module: str, query: QueryInfo) -> Any:
    @handle_errors
    def ask(
        params: Annotated[
            list[str] | None,
            typer.Argument(metavar="[PARAM=VALUE]...", help="The query's parameters."),
        ] = None,
        proof: Annotated[bool, typer.Option("--proof", help="Add a proof bundle.")] = False,
        height: Annotated[
            int | None, typer.Option("--height", min=0, help="Answer as of this height.")
        ] = None,
        body_file: Annotated[
            Path | None,
            typer.Option("--body-file", dir_okay=False, help="A POST query's body (JSON)."),
        ] = None,
        node: NodeOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        base: dict[str, Any] | None = None
        if body_file is not None:
            if query.method != "POST":
                usage_error(f"{query.name} takes parameters, not a body", "--body-file")
            base = _read_object(body_file, "--body-file")
        pairs = list(params or [])
        positional = [p for p in pairs if "=" not in p]
        named = [p for p in pairs if "=" in p]
        if len(positional) > len(query.path_params):
            usage_error(
                f"{query.name} takes {len(query.path_params)} positional parameter(s) "
                f"({', '.join(query.path_params) or 'none'}); give the others as NAME=VALUE",
                "PARAM",
            )
        named += [
            f"{name}={value}" for name, value in zip(query.path_params, positional, strict=False)
        ]
        try:
            values = parse_fields(named, query.params_schema, base=base)
        except FieldError as exc:
            usage_error(str(exc), "PARAM")
        if proof and query.proof != "on_request":
            usage_error(f"{module} {query.name} does not offer proofs", "--proof")
        if height is not None and not query.historical:
            usage_error(f"{module} {query.name} answers at the head only", "--height")
        with client(node) as c:
            answer = c.query(module, query.name, proof=proof, height=height, **values)
        print_answer(answer, as_json=want_json(json_), title=f"{module} {query.name}")

    ask.__doc__ = _query_help(module, query)
    return ask


# -- commands of their own, from the modules' CLI hints -------------------------------------

_TAKEN = {"--as", "--field", "--args-file", "--cosigner", "--no-wait", "--node", "--data-dir",
          "--json", "--proof", "--height", "--body-file", "--help"}  # fmt: skip
Bound = list[tuple[str, str, str]]  # (parameter name, option or metavar, field path)


def _bound_fields(hint: dict[str, Any], schema: dict[str, Any]) -> tuple[Bound, Bound]:
    """The positional arguments and the options of a hinted command: the hint's own, then
    every other top-level scalar field as an option of its own name."""
    positional: Bound = [
        (f"pos_{i}", path.rsplit(".", 1)[-1].upper(), path)
        for i, path in enumerate(hint.get("positional", []))
    ]
    options: Bound = [
        (f"opt_{i}", option, path)
        for i, (option, path) in enumerate(hint.get("options", {}).items())
    ]
    taken = _TAKEN | {option for _, option, _ in options}
    covered = {path for _, _, path in positional + options}
    for info in describe_fields(schema):
        option = "--" + info.name.replace("_", "-")
        scalar = info.type in ("text", "int", "bool") or "|" in info.type
        if scalar and "." not in info.name and info.name not in covered and option not in taken:
            options.append((f"opt_{len(options)}", option, info.name))
            taken.add(option)
    return positional, options


def _pairs(values: dict[str, Any], bound: Bound) -> list[str]:
    """``path=value`` of the bound parameters that were given."""
    return [f"{path}={values[name]}" for name, _, path in bound if values.get(name) is not None]


def _dress(
    run: Any,
    schema: dict[str, Any],
    positional: Bound,
    options: Bound,
    common: list[inspect.Parameter],
    doc: str,
) -> Any:
    """Give ``run`` the typer signature of its bound fields and the common options."""
    fields = {f.name: f for f in describe_fields(schema)}
    parameters = []
    for name, metavar, path in positional:
        # A union's tag (event.type) is described by the union's field (event).
        info = fields.get(path) or fields.get(path.rsplit(".", 1)[0])
        meaning = info.meaning if info is not None else path
        argument = typer.Argument(metavar=metavar, help=meaning)
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[str, argument]
            )
        )
    for name, option, path in options:
        info = fields.get(path)
        meaning = f"{info.meaning} ({info.type})" if info is not None else f"sets {path}"
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[str | None, typer.Option(option, help=meaning)],
            )
        )
    keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in common]
    signature = inspect.Signature(parameters + keyword)
    run.__signature__ = signature
    run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    run.__doc__ = doc
    return run


def _send(
    module: str, name: str, args: dict[str, Any], values: dict[str, Any], extra: dict[str, Any]
) -> None:
    keystore = open_keystore(values["data_dir"])
    signers = [signer_named(keystore, values["as_"])]
    signers += [signer_named(keystore, n, "--cosigner") for n in values["cosigner"] or []]
    with client(values["node"]) as c:
        result = c.tx(
            module, name, args, signers=signers, wait=None if values["no_wait"] else "commit"
        )
    print_submit(result, as_json=want_json(values["json_"]), extra=extra)


def _hinted_tx(module: str, message: MessageInfo, hint: dict[str, Any]) -> Any:
    schema = message.args_schema
    positional, options = _bound_fields(hint, schema)
    prefix = str(hint.get("field_prefix", ""))

    @handle_errors
    def run(**values: Any) -> None:
        pairs = _pairs(values, positional) + _pairs(values, options)
        pairs += [prefix + pair for pair in values["field"] or []]
        file = values["args_file"]
        base = None if file is None else _read_object(file, "--args-file")
        try:
            args = parse_fields(pairs, schema, base=base)
            message.check(args)
        except (FieldError, TxBuildError) as exc:
            usage_error(str(exc).replace(prefix, "") if prefix else str(exc), "--field")
        extra = {path: args[path] for _, _, path in positional if path in args}
        _send(module, message.name, args, values, extra)

    # The generic command's options (--field, --as, --args-file, …) follow the bound ones.
    generic = _tx_command(module, message)
    common = list(inspect.signature(generic, eval_str=True).parameters.values())
    doc = (
        f"{hint.get('summary') or message.summary}\n\nThe command for `amchain tx {module} "
        f"{message.name}` (its --help lists every field"
        + (f"; --field NAME=VALUE sets {prefix}NAME" if prefix else "")
        + ")."
    )
    return _dress(run, schema, positional, options, common, doc)


def _hinted_query(module: str, query: QueryInfo, hint: dict[str, Any]) -> Any:
    schema = query.params_schema
    positional, options = _bound_fields(hint, schema)

    @handle_errors
    def run(**values: Any) -> None:
        try:
            params = parse_fields(_pairs(values, positional) + _pairs(values, options), schema)
        except FieldError as exc:
            usage_error(str(exc), "PARAM")
        with client(values["node"]) as c:
            answer = c.query(module, query.name, **params)
        print_answer(answer, as_json=want_json(values["json_"]), title=str(hint["command"]))

    keyword = inspect.Parameter.KEYWORD_ONLY
    common = [
        inspect.Parameter("node", keyword, default=None, annotation=NodeOpt),
        inspect.Parameter("json_", keyword, default=False, annotation=JsonOpt),
    ]
    summary = hint.get("summary") or query.summary
    doc = f"{summary}\n\nThe command for `amchain query {module} {query.name}`."
    return _dress(run, schema, positional, options, common, doc)


def _is_flat(answer: Any) -> bool:
    def plain(value: Any) -> bool:
        if isinstance(value, list):
            return all(not isinstance(item, dict | list) for item in value)
        return not isinstance(value, dict)

    return isinstance(answer, dict) and all(plain(v) for v in answer.values())


def print_answer(answer: Any, *, as_json: bool, title: str) -> None:
    """A query's answer: a table of its fields when it is one flat object, else JSON."""
    if as_json:
        print_json(answer)
        return
    if not _is_flat(answer):
        console.print_json(json.dumps(answer, ensure_ascii=False))
        return
    table = Table(show_header=False, box=None)
    for key, value in answer.items():
        if value is not None:
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            table.add_row(key, text)
    console.print(Panel(table, title=title, expand=False))


def install_hinted_commands(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add the commands the modules' CLI hints ask for (``vehicle register``, …) to their
    groups; a group not in ``groups`` is made and added to ``app``, so a new module's hints
    need no CLI code."""
    groups = dict(groups)
    made: dict[str, tuple[ModuleInfo, list[str]]] = {}

    def group_for(module: ModuleInfo, words: str) -> tuple[typer.Typer, str]:
        group, name = words.split(" ", 1)
        if group not in groups:
            groups[group] = typer.Typer(no_args_is_help=True)
            app.add_typer(groups[group], name=group)
            made[group] = (module, [])
        if group in made:
            made[group][1].append(name)
        return groups[group], name

    for module in local_catalog().modules.values():
        for message in module.messages.values():
            if message.cli:
                group, name = group_for(module, str(message.cli["command"]))
                group.command(name)(_hinted_tx(module.name, message, message.cli))
        for query in module.queries.values():
            if query.cli:
                group, name = group_for(module, str(query.cli["command"]))
                group.command(name)(_hinted_query(module.name, query, query.cli))
    for word, (owner, names) in made.items():
        # a made group's help names its module and its commands (two groups of one module,
        # e.g. `voucher` and `loan`, would otherwise read the same)
        summary = f"{owner.title}: {', '.join(names)}"
        groups[word].info.help = f"{summary} (all of it: `amchain tx|query {owner.name}`)."


def _register() -> None:
    catalog = local_catalog()
    for module in catalog.modules.values():
        module_tx = typer.Typer(
            help=f"{module.title}: {module.description} Messages of the {module.name} module.",
            no_args_is_help=True,
        )
        for message in module.messages.values():
            module_tx.command(message.name)(_tx_command(module.name, message))
        tx_app.add_typer(module_tx, name=module.name)
        if module.queries:
            module_query = typer.Typer(
                help=f"{module.title}: queries of the {module.name} module.",
                no_args_is_help=True,
            )
            for query in module.queries.values():
                module_query.command(query.name)(_query_command(module.name, query))
            query_app.add_typer(module_query, name=module.name)


_register()


@handle_errors
def modules_command(
    module: Annotated[
        str | None, typer.Argument(help="One module: its messages, queries and events.")
    ] = None,
    node: NodeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The chain's modules (as the node runs them; this release's when it is not running)."""
    try:
        with client(node) as c:
            catalog = c.modules()
        where = f"node {node_url(node)}"
    except TransportError:
        catalog = local_catalog()
        where = "this release"
        err_console.print(
            f"note: the node at {node_url(node)} is not reachable; the modules of this release:",
            markup=False,
        )
    if module is not None and module not in catalog.modules:
        usage_error(f"no module {module!r} ({', '.join(catalog.modules)})", "MODULE")
    chosen = [catalog.modules[module]] if module else list(catalog.modules.values())
    if want_json(json_):
        print_json({"source": where, "modules": [m.raw for m in chosen]})
        return
    if module is None:
        table = Table("module", "what it is", "messages", "queries", title=f"modules of {where}")
        for info in chosen:
            table.add_row(
                info.name,
                info.description or info.title,
                ", ".join(info.messages),
                ", ".join(info.queries),
            )
        console.print(table)
        console.print("details: amchain modules MODULE; send: amchain tx MODULE MESSAGE --help")
        return
    info = chosen[0]
    console.print(f"[bold]{info.name}[/] — {info.description or info.title}")
    messages = Table("message", "what it does", "signed by", title="messages (amchain tx)")
    for message in info.messages.values():
        messages.add_row(message.name, message.summary, message.signers)
    console.print(messages)
    queries = Table("query", "what it answers", "route", title="queries (amchain query)")
    for query in info.queries.values():
        queries.add_row(query.name, query.summary, f"{query.method} {query.path}")
    console.print(queries)
    events = Table("event", "meaning", title="events")
    for event in info.events:
        events.add_row(str(event.get("type")), str(event.get("summary", "")))
    console.print(events)
