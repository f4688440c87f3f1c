"""No string from a file or an argument is ever evaluated: coefficients given as strings,
``subs`` values and the schemes stored in run records are read by one parser that accepts
numbers only, and every value numnet writes reads back identically."""

import builtins
import json
import re

import pytest
import sympy as sp

from numnet.schemes import LinearMultistep, RungeKutta, get, names
from numnet.schemes._parse import NumberSyntaxError, number_text, parse_number
from numnet.study.records import load_records, scheme_from_dict, scheme_to_dict

FLAG = "numnet_payload_ran"  # a payload that runs sets this name in builtins


def payloads(marker):
    """Strings that do something when evaluated: write ``marker``, call into os, walk to
    every class, build a lambda, reach this module's global flag."""
    return [
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        '__import__("os").getpid()',
        "().__class__.__bases__[0].__subclasses__()",
        "(lambda: 1)()",
        f"__import__('builtins').__dict__.__setitem__({FLAG!r}, 1)",
        "[c for c in ().__class__.__mro__]",
        "Rational.__init__.__globals__",
        "sqrt(2).__class__",
        "open('/etc/passwd').read()",
        "exec('1')",
        "1 if 1 else 2",
    ]


def check_not_run(marker):
    assert not marker.exists(), "a payload string was evaluated"
    assert not hasattr(builtins, FLAG), "a payload string was evaluated"


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "evaluated"


def test_constructor_coefficients_are_never_evaluated(marker):
    for text in payloads(marker):
        with pytest.raises(NumberSyntaxError) as e:
            LinearMultistep([text, -1, 1], [0, 0, 2])
        msg = str(e.value)
        assert msg.startswith("alpha[0]: cannot read ") and repr(text) in msg and "Accepted: integers" in msg
        with pytest.raises(NumberSyntaxError, match=r"^A\[1\]\[0\]: "):
            RungeKutta([[0, 0], [text, 0]], [0, 1], [0, 1])
        with pytest.raises(NumberSyntaxError, match=r"^b\[1\]: "):
            RungeKutta([[0, 0], [1, 0]], [0, text], [0, 1])
    check_not_run(marker)


def test_subs_values_are_never_evaluated(marker):
    for text in payloads(marker):
        with pytest.raises(NumberSyntaxError, match=r"^k in lm_resnet\.subs\(\): cannot read "):
            get("lm_resnet").subs(k=text)
    check_not_run(marker)


def _record(folder, key, scheme_dict):
    path = folder / "runs" / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": {"key": key}, "blocks": [{"stage": 0, "block": 0, "scheme": scheme_dict}]}))
    return path


def test_records_are_read_never_evaluated(tmp_path, marker):
    good = scheme_to_dict(get("ab2"))
    for i, text in enumerate(payloads(marker)):
        folder = tmp_path / f"study{i}"
        bad = {**good, "beta": [good["beta"][0], text, good["beta"][2]]}
        path = _record(folder, "ab2-d20-s0", bad)
        with pytest.raises(NumberSyntaxError) as e:
            load_records(folder)
        assert str(e.value).startswith(f"{path}: blocks[0].scheme: beta[1]: cannot read {text!r}")
        with pytest.raises(NumberSyntaxError, match=r"^runs/x\.json: beta\[1\]: "):
            scheme_from_dict(bad, "runs/x.json")
    check_not_run(marker)


@pytest.mark.parametrize("stored", [{"py/reduce": ["os.system", ["true"]]}, ["__import__('os')"], None, True])
def test_records_refuse_objects_as_coefficients(tmp_path, stored):
    good = scheme_to_dict(get("ab2"))
    path = _record(tmp_path, "ab2-d20-s0", {**good, "alpha": [stored, *good["alpha"][1:]]})
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: blocks\[0\]\.scheme: alpha\[0\]: a stored coefficient must be "
                                         r"a float or a number string like '1/3', got .*; accepted: integers"):
        load_records(tmp_path)


@pytest.mark.parametrize("text, value", [
    ("3/2", sp.Rational(3, 2)), ("-1/2 + sqrt(15)/10", -sp.Rational(1, 2) + sp.sqrt(15) / 10),
    ("sqrt(2)/2", sp.sqrt(2) / 2), ("2**(1/3)", sp.cbrt(2)), ("Rational(-5, 12)", sp.Rational(-5, 12)),
    ("1 - k", 1 - sp.Symbol("k")), ("1e-3", sp.Float("1e-3")), (" 7 ", sp.Integer(7)),
    ("0.100000000000000000000000000000000000000000000000000000000000", sp.Float("0.1", 60)),
    ("CRootOf(x**5 - x + 1, 0)", sp.CRootOf(sp.Symbol("x") ** 5 - sp.Symbol("x") + 1, 0)),
])
def test_parser_reads_what_numnet_writes(text, value):
    got = parse_number(text)
    assert got == value and type(got) is type(value)
    if isinstance(value, sp.Float):
        assert got._prec == value._prec


@pytest.mark.parametrize("text, reason", [
    ("nan", "nan is not a finite number"), ("oo", "oo is not a finite number"), ("1j", "1j is not a number"),
    ("True", "True is not a number"), ("'1'", "'1' is not a number"), ("x[0]", "Subscript"),
    ("9**9**9**9", "too large"), ("2**(10**6)", "too large"), ("sqrt", "sqrt must be called"),
    ("sqrt(2, 3)", "sqrt takes one argument"), ("_x", "not a symbol name"), ("Rational(1, 0)", "zero denominator"),
    ("1_000", "not a plain decimal"), ("0x10", "not a plain decimal"), ("", "not an expression"), ("1 +", "not an expression"),
    ("k" + "+k" * 60000, "longer than 100000 characters"),
])
def test_parser_rejects_everything_else_with_a_reason(text, reason):
    with pytest.raises(NumberSyntaxError, match="^slot: cannot read ") as e:
        parse_number(text, "slot")
    assert reason in str(e.value)


def test_parser_can_restrict_symbols():
    assert parse_number("k/2", symbols={"k"}) == sp.Symbol("k") / 2
    with pytest.raises(NumberSyntaxError, match=r"unknown symbol 'j' \(known: k\)"):
        parse_number("j", symbols={"k"})


def _coefficients(s):
    if s.kind == "LMM":
        return list(s.alpha) + list(s.beta)
    return list(s.A) + list(s.b) + list(s.c)


def _identical(a, b):
    """Equal as sympy objects, and every Float with the same precision."""
    fa, fb = (sorted(((f, f._prec) for f in sp.sympify(x).atoms(sp.Float)), key=str) for x in (a, b))
    return a == b and fa == fb


@pytest.mark.parametrize("name", names())   # catalog and partitioned (stored by name)
def test_every_catalog_scheme_round_trips_exactly(name):
    s = get(name)
    d = json.loads(json.dumps(scheme_to_dict(s), allow_nan=False))
    back = scheme_from_dict(d)
    assert back.kind == s.kind and back.name == s.name
    if s.kind not in ("LMM", "RK"):  # partitioned: stored by name, read back as the registered object
        assert d == {"kind": "partitioned", "name": name, "family": getattr(s, "family", name)} and back == s
        return
    pairs = list(zip(_coefficients(back), _coefficients(s), strict=True))
    assert all(_identical(a, b) for a, b in pairs), [(a, b) for a, b in pairs if not _identical(a, b)]


@pytest.mark.parametrize("k", [
    sp.Float(-0.1), sp.Float("0.1", 5), sp.Float("-0.123456789012345678901234567890", 30),
    sp.Float("0.1", 60), sp.Rational(-1, 3), sp.Float(1) / 3, sp.Float("1e-40", 40),
])
def test_learned_values_round_trip_with_their_precision(k):
    s = get("lm_resnet").subs(k=k)
    back = scheme_from_dict(json.loads(json.dumps(scheme_to_dict(s), allow_nan=False)))
    assert all(_identical(a, b) for a, b in zip(_coefficients(back), _coefficients(s), strict=True))


def test_floats_inside_expressions_keep_their_precision():
    x = sp.Float("0.1", 30) * sp.sqrt(2) - sp.Rational(1, 3)
    text = number_text(x)
    assert _identical(parse_number(text), x) and "precision=103" in text
    assert str(x) == "-1/3 + 0.1*sqrt(2)"  # why sympy's own str cannot be the stored form


def test_other_expression_inputs_are_read_never_evaluated(marker):
    """Every public entry that took an expression through sympify reads strings instead."""
    from numnet.nets.coefficients import Coefficients
    from numnet.schemes.sde import bernoulli, sde_limit
    from numnet.schemes.stability import critical_values, root_condition_set
    from numnet.schemes.table import format_number

    xi, w = sp.symbols("xi w")
    me = get("euler").modified_equation(1, form="vector_field")
    text = payloads(marker)[0]
    calls = [
        (lambda: root_condition_set(text, xi, w), "expr"), (lambda: critical_values(text, xi, w), "expr"),
        (lambda: sde_limit(text, bernoulli(sp.Rational(1, 2))), "residual"), (lambda: format_number(text), "number"),
        (lambda: Coefficients([1, text]), "coefficient 1"), (lambda: me.lambdify(text, y=sp.Symbol("x"), h=0.1), "f"),
    ]
    for call, what in calls:
        with pytest.raises(NumberSyntaxError, match=rf"^{what}: cannot read "):
            call()
    check_not_run(marker)
    assert root_condition_set("xi**2 - (2 - w)*xi + 1", xi, w) == sp.Interval.open(0, 4)  # strings still work


@pytest.mark.parametrize("argv", [["--merge", "{src}"], ["--table-only"]])
def test_study_cli_refuses_a_crafted_record(tmp_path, marker, capsys, argv):
    """A real study folder (fake training) whose record was edited: the merge, the table and
    the figures (which rebuild the stored schemes) must all refuse it unevaluated."""
    from test_study import DATA, Fakes

    from numnet.cli import main
    from numnet.study import plan, run_grid

    src, dest = tmp_path / "shard", tmp_path / "study"
    folder = src if argv[0] == "--merge" else dest
    run_grid(plan(["lm_resnet"], [8], [0]), folder, data=DATA, build=Fakes().build, train=Fakes().train, progress=False)
    (path,) = (folder / "runs").glob("*.json")
    rec = json.loads(path.read_text())
    rec["blocks"][0]["scheme"]["alpha"][0] = payloads(marker)[0]
    path.write_text(json.dumps(rec))
    assert main(["study", "--out", str(dest), *[a.format(src=src) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"numnet study: {argv[0]}: ") and err.count("\n") == 1  # one line, naming the option
    assert f"{path}: blocks[0].scheme: alpha[0]: cannot read " in err and "Accepted: integers" in err
    check_not_run(marker)
    assert not (dest / "table.md").exists()


def test_crootof_coefficients_round_trip():
    """Radau IIA with four stages has CRootOf nodes (no real radicals); its record reads back."""
    from numnet.schemes.catalog import radau_iia

    s = radau_iia(4)
    d = json.loads(json.dumps(scheme_to_dict(s), allow_nan=False))
    assert any("CRootOf(" in x for x in d["c"])
    back = scheme_from_dict(d)
    assert (back.A, back.b, back.c) == (s.A, s.b, s.c)
