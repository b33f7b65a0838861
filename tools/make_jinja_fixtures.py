"""Reference fixtures for the Swift Jinja chat-template interpreter (Sources/VLMRuntime/Jinja/).

Renders small focused templates, and real published chat templates, with transformers' own chat-template
environment (transformers.utils.chat_template_utils._compile_jinja_template: ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks, loopcontrols, the AssistantTracker `{% generation %}` extension, the tojson filter and
the raise_exception / strftime_now / dict / namespace globals), and writes

    Tests/VLMRuntimeTests/Fixtures/jinja_conformance.json

    {"generator", "transformers", "jinja2", "now",
     "templates": {name: text},            # real templates, shared by the cases that use them
     "cases": [{"name", "template" | "template_ref", "source"?, "vars",
                "expected" | "error": {"type", "message", "line"}}]}

`vars` are the exact keyword arguments given to `Template.render` (JSON null is Python None, a *defined*
variable). For real templates they are what `apply_chat_template` passes (messages with None-valued keys dropped,
tools, documents=None, add_generation_prompt, the tokenizer's special tokens), and each render is checked against
transformers' `render_jinja_template`. `strftime_now` formats the fixed time in "now" (2026-12-03T10:20:30) so the
renders are reproducible. `error.line` is the template line of the error (the syntax error's lineno, or the
innermost template frame of a runtime error); null when the error has none.

At the end the script re-reads the JSON and re-renders every case, to confirm the fixture is deterministic and
survives the JSON round trip.

Run:  .venv-ref/bin/python tools/make_jinja_fixtures.py
      (needs transformers==5.23.0, jinja2, gguf). Real templates come from: the GGUF files in ~/.cache/vlm/models,
      Tests/VisionTests/Fixtures/vlms/*/chat_template.jinja, tools/make_tokenizer_fixtures.py (Gemma 3),
      tools/jinja_templates/*.jinja (+ .source; optional, not committed: copies whose provenance
      cannot be shown stay out of the repository), and llama.cpp's models/templates/*.jinja in $LLAMA_TEMPLATES
      (default /tmp/tpl), which the llama-cpp-python sdist carries:
        pip download --no-deps --no-binary :all: llama-cpp-python   (or fetch the .tar.gz from PyPI directly)
        tar xzf llama_cpp_python-*.tar.gz --wildcards '*/models/templates/*'
        cp llama_cpp_python-*/vendor/llama.cpp/models/templates/*.jinja /tmp/tpl/
      A missing template is skipped (with a note), so the case list depends on what is present.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import traceback
from pathlib import Path

import jinja2
import transformers
from transformers.utils import chat_template_utils as ctu

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/VLMRuntimeTests/Fixtures/jinja_conformance.json"
LLAMA_TEMPLATES = Path(os.environ.get("LLAMA_TEMPLATES", "/tmp/tpl"))
GGUF_DIR = Path(os.path.expanduser("~/.cache/vlm/models"))
FIXED_NOW = _dt.datetime(2026, 12, 3, 10, 20, 30)


class _FixedDatetime(_dt.datetime):
    """`datetime` whose now() is FIXED_NOW; strftime_now calls `datetime.now()` through the module global."""

    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


ctu.datetime = _FixedDatetime


# --------------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------------


def _error_line(exc: BaseException) -> int | None:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    if isinstance(exc, SyntaxError):
        return None  # Python's own compile error: its lineno is in the generated code, not the template
    # Runtime errors: jinja rewrites the traceback so template frames carry the template's line numbers.
    found = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>":
            found = lineno
    return found


def render(template: str, variables: dict) -> dict:
    """{"expected": text} or {"error": {...}}, rendering exactly as transformers does."""
    try:
        compiled = ctu._compile_jinja_template(template)
        return {"expected": compiled.render(**variables)}
    except Exception as exc:  # noqa: BLE001 - every error is a fixture
        return {"error": {"type": type(exc).__name__, "message": str(exc), "line": _error_line(exc)}}


CASES: list[dict] = []
UNEXPECTED: list[str] = []
TEMPLATES: dict[str, str] = {}
SOURCES: dict[str, str] = {}


def case(name: str, template: str, expect_error: bool = False, **variables) -> None:
    """A focused case: `template` rendered with `variables`."""
    result = render(template, variables)
    if expect_error != ("error" in result):
        UNEXPECTED.append(f"case {name!r}: unexpected result {result}")
    CASES.append({"name": name, "template": template, "vars": variables, **result})


def cases(prefix: str, rows: list[tuple]) -> None:
    """rows of (name, template) or (name, template, vars) that render without error."""
    for row in rows:
        name, template, variables = (row + ({},))[:3]
        case(f"{prefix}/{name}", template, **variables)


def errors(prefix: str, rows: list[tuple]) -> None:
    for row in rows:
        name, template, variables = (row + ({},))[:3]
        case(f"{prefix}/{name}", template, expect_error=True, **variables)


# --------------------------------------------------------------------------------------------------------------
# Language cases
# --------------------------------------------------------------------------------------------------------------


def whitespace_cases() -> None:
    cases("ws", [
        ("plain text", "Hello, world!"),
        ("trailing newline kept? (keep_trailing_newline=False)", "line\n"),
        ("two trailing newlines", "line\n\n"),
        ("trim_blocks eats newline after tag", "{% if true %}\nyes\n{% endif %}\nafter"),
        ("lstrip_blocks strips indent before tag", "a\n    {% if true %}\n    b\n    {% endif %}\nc"),
        ("lstrip_blocks does not touch expressions", "a\n    {{ 'x' }}\nb"),
        ("plus disables lstrip", "a\n    {%+ if true %}b{% endif %}"),
        ("minus strips both sides", "a   \n  {%- if true -%}  \n  b  \n  {%- endif -%}  \n c"),
        ("expression minus", "a  {{- 'x' -}}  b"),
        ("expression minus newline", "a\n\n{{- 'x' }}\n\nb"),
        ("comment", "a{# comment #}b"),
        ("comment with trim_blocks newline", "a\n{# comment #}\nb"),
        ("comment minus", "a   {#- comment -#}   b"),
        ("raw block", "{% raw %}{{ not evaluated }}{% endraw %}"),
        ("raw block with minus", "x  {%- raw -%}  {{ y }}  {%- endraw -%}  z"),
        ("trim_blocks only strips one newline", "{% if true %}\n\nx{% endif %}"),
        ("trim_blocks with crlf? (no: \\r\\n normalised to \\n)", "{% if true %}\r\nx\r\n{% endif %}\r\n"),
        ("lstrip with tabs", "a\n\t\t{% if true %}b{% endif %}"),
        ("text after tag on same line keeps indent", "  {% if true %}x{% endif %}  y"),
        ("newline inside expression tags", "{{\n'a'\n~\n'b'\n}}"),
        ("set then text", "{% set x = 1 %}\n{{ x }}"),
        ("for loop with trim", "{% for i in [1,2] %}\n{{ i }}\n{% endfor %}\n"),
        ("minus on endfor only", "{% for i in [1,2] %}\n  {{ i }}\n{%- endfor %}"),
    ])


def for_loop_cases() -> None:
    xs = {"xs": ["a", "b", "c"]}
    cases("for", [
        ("loop.index", "{% for x in xs %}{{ loop.index }}{% endfor %}", xs),
        ("loop.index0", "{% for x in xs %}{{ loop.index0 }}{% endfor %}", xs),
        ("loop.revindex", "{% for x in xs %}{{ loop.revindex }}{% endfor %}", xs),
        ("loop.revindex0", "{% for x in xs %}{{ loop.revindex0 }}{% endfor %}", xs),
        ("loop.first/last", "{% for x in xs %}{{ loop.first }}-{{ loop.last }};{% endfor %}", xs),
        ("loop.length", "{% for x in xs %}{{ loop.length }}{% endfor %}", xs),
        ("loop.previtem/nextitem", "{% for x in xs %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}", xs),
        ("previtem is defined", "{% for x in xs %}{{ loop.previtem is defined }}{% endfor %}", xs),
        ("loop.cycle", "{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}", xs),
        ("loop.depth", "{% for x in [1] %}{% for y in [2] %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}{% endfor %}"),
        ("for else on empty", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"),
        ("for else not taken", "{% for x in [1] %}{{ x }}{% else %}empty{% endfor %}"),
        ("for else when filter removes all", "{% for x in [1,2] if x > 5 %}{{ x }}{% else %}none{% endfor %}"),
        ("for with if filter", "{% for x in range(10) if x % 3 == 0 %}{{ x }},{% endfor %}"),
        ("loop.index with if filter counts kept items",
         "{% for x in range(6) if x is odd %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% endfor %}"),
        ("tuple unpacking items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": 2}}),
        ("tuple unpacking list of pairs", "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}"),
        ("iterate dict gives keys", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
        ("iterate string", "{% for c in 'abc' %}{{ c }}.{% endfor %}"),
        ("filter on iterable", "{% for x in xs | reverse %}{{ x }}{% endfor %}", xs),
        ("slice on iterable", "{% for x in xs[1:] %}{{ x }}{% endfor %}", xs),
        ("nested loops, outer loop via set",
         "{% for a in [1,2] %}{% set outer = loop %}{% for b in [1,2] %}{{ outer.index }}{{ loop.index }} {% endfor %}{% endfor %}"),
        ("set inside loop does not leak", "{% set x = 'out' %}{% for i in [1,2] %}{% set x = i %}{% endfor %}{{ x }}"),
        ("loop var does not leak", "{% set i = 'before' %}{% for i in [1,2] %}{% endfor %}{{ i }}"),
        ("set inside loop visible inside", "{% for i in [1,2] %}{% set y = i * 10 %}{{ y }} {% endfor %}"),
        ("break", "{% for i in range(10) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
        ("continue", "{% for i in range(6) %}{% if i is even %}{% continue %}{% endif %}{{ i }}{% endfor %}"),
        ("loop.last with break", "{% for i in [1,2,3] %}{{ i }}{{ loop.last }}{% if i == 2 %}{% break %}{% endif %} {% endfor %}"),
        ("messages[::-1] with index arithmetic",
         "{% for m in ms[::-1] %}{{ (ms | length - 1) - loop.index0 }}{{ m }} {% endfor %}", {"ms": ["a", "b", "c"]}),
        ("loop over None errors? no: over empty list", "{% for x in [] %}x{% endfor %}done"),
        ("recursive loop",
         "{% for n in tree recursive %}{{ n.name }}{% if n.children %}({{ loop(n.children) }}){% endif %}{% endfor %}",
         {"tree": [{"name": "a", "children": [{"name": "b", "children": []}, {"name": "c"}]}, {"name": "d"}]}),
        ("namespace counter across loop",
         "{% set ns = namespace(n=0) %}{% for x in [1,2,3] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"),
    ])


def if_set_cases() -> None:
    cases("if", [
        ("if true", "{% if true %}T{% endif %}"),
        ("if elif else", "{% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %} {% endfor %}"),
        ("truthiness of empty things", "{% for v in [0, '', [], {}, none, false, 0.0] %}{% if v %}T{% else %}F{% endif %}{% endfor %}"),
        ("truthiness of non-empty", "{% for v in [1, 'a', [0], {'a': 0}, true, 0.1] %}{% if v %}T{% else %}F{% endif %}{% endfor %}"),
        ("undefined is falsy", "{% if nothing %}T{% else %}F{% endif %}"),
        ("nested if", "{% if a %}{% if b %}ab{% else %}a{% endif %}{% endif %}", {"a": True, "b": False}),
    ])
    cases("set", [
        ("expression", "{% set x = 1 + 2 %}{{ x }}"),
        ("tuple unpacking", "{% set a, b = 1, 2 %}{{ a }}{{ b }}"),
        ("tuple unpacking from list", "{% set a, b = [3, 4] %}{{ a }}-{{ b }}"),
        ("block set", "{% set x %}inner {{ 1 + 1 }}{% endset %}[{{ x }}]"),
        ("block set with trim", "{% set x -%}\n  text\n{%- endset %}[{{ x }}]"),
        ("block set with filter", "{% set x | upper %}shout{% endset %}{{ x }}"),
        ("namespace attribute", "{% set ns = namespace() %}{% set ns.x = 5 %}{{ ns.x }}"),
        ("namespace with kwargs", "{% set ns = namespace(a=1, b='two') %}{{ ns.a }}{{ ns.b }}"),
        ("namespace from dict", "{% set ns = namespace({'a': 1}) %}{{ ns.a }}"),
        ("namespace set in if in loop",
         "{% set ns = namespace(found=false) %}{% for x in [1,2,3] %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}"),
        ("set overrides variable", "{% set x = 'new' %}{{ x }}", {"x": "old"}),
        ("set list then index", "{% set l = [1, 2, 3] %}{{ l[0] + l[-1] }}"),
        ("set inside if leaks (if has no scope)", "{% if true %}{% set y = 'in' %}{% endif %}{{ y }}"),
        ("with block scope", "{% set x = 1 %}{% with x = 2 %}{{ x }}{% endwith %}{{ x }}"),
    ])
    errors("set", [
        ("namespace underscore attribute refused", "{% set ns = namespace() %}{% set ns._x = 1 %}"),
        ("namespace underscore kwarg refused", "{% set ns = namespace(_x=1) %}"),
        ("attribute assignment on non-namespace", "{% set d = {} %}{% set d.x = 1 %}"),
    ])


def macro_cases() -> None:
    cases("macro", [
        ("simple", "{% macro hi(name) %}Hi {{ name }}!{% endmacro %}{{ hi('Bob') }}"),
        ("default argument", "{% macro f(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ f('x') }}|{{ f('x', 'y') }}"),
        ("keyword argument", "{% macro f(a, b=2, c=3) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ f(1, c=9) }}"),
        ("missing argument is undefined", "{% macro f(a, b) %}[{{ a }}][{{ b }}]{% endmacro %}{{ f(1) }}"),
        ("recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1) | int }}{% endif %}{% endmacro %}{{ fact(5) }}"),
        ("macro result in expression", "{% macro m() %}abc{% endmacro %}{{ m() | upper }}{{ m() + 'd' }}{{ m() | length }}"),
        ("macro result string methods", "{% macro m() %}  <x>  {% endmacro %}[{{ m().strip() }}]{{ m().startswith('  <') }}"),
        ("macro with trim_blocks inside",
         "{% macro render(c) %}\n{% if c is string %}\n{{ c }}\n{% else %}\n{% for p in c %}{{ p.text }}{% endfor %}\n{% endif %}\n{% endmacro %}[{{ render('s') }}][{{ render([{'text': 't'}]) }}]"),
        ("macro sees globals, not caller locals", "{% set g = 'G' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}"),
        ("macro varargs", "{% macro m() %}{{ varargs | length }}{{ kwargs | length }}{% endmacro %}{{ m(1, 2, k=3) }}"),
        ("macro call with caller", "{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}inner{% endcall %}"),
        ("macro namespace side effect",
         "{% set ns = namespace(n=0) %}{% macro inc() %}{% set ns.n = ns.n + 1 %}{% endmacro %}{{ inc() }}{{ inc() }}{{ ns.n }}"),
    ])


def global_cases() -> None:
    cases("strftime_now", [
        ("%Y-%m-%d", "{{ strftime_now('%Y-%m-%d') }}"),
        ("%d %b %Y", "{{ strftime_now('%d %b %Y') }}"),
        ("%B", "{{ strftime_now('%B') }}"),
        ("%A", "{{ strftime_now('%A') }}"),
        ("%H:%M", "{{ strftime_now('%H:%M') }}"),
        ("%H:%M:%S %p %j %a %y", "{{ strftime_now('%H:%M:%S %p %j %a %y') }}"),
        ("%-d (glibc no-pad)", "{{ strftime_now('%-d') }}"),
        ("%% literal", "{{ strftime_now('100%%') }}"),
    ])
    cases("globals", [
        ("range 1 arg", "{{ range(4) | list }}"),
        ("range 2 args", "{{ range(2, 5) | list }}"),
        ("range 3 args", "{{ range(10, 0, -3) | list }}"),
        ("range empty", "{{ range(0) | list }}"),
        ("range length", "{{ range(5) | length }}"),
        ("dict()", "{{ dict(a=1, b='x') }}"),
        ("dict() empty", "{{ dict() }}"),
        ("dict from pairs", "{{ dict([['k', 'v']]) }}"),
        ("cycler", "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}"),
        ("joiner", "{% set j = joiner(', ') %}{% for x in [1,2,3] %}{{ j() }}{{ x }}{% endfor %}"),
        ("raise_exception inside false branch not raised", "{% if false %}{{ raise_exception('no') }}{% endif %}ok"),
    ])
    errors("globals", [
        ("raise_exception", "line1\n{{ raise_exception('Conversation roles must alternate') }}"),
        ("raise_exception on line 3 in loop",
         "{% for m in ms %}\n{% if m == 'bad' %}\n{{ raise_exception('bad message: ' + m) }}\n{% endif %}\n{% endfor %}",
         {"ms": ["ok", "bad"]}),
        ("range too big", "{{ range(200000) | length }}"),
    ])


def operator_cases() -> None:
    cases("ops", [
        ("tilde concat", "{{ 'a' ~ 1 ~ none ~ true ~ 2.5 }}"),
        ("plus strings", "{{ 'a' + 'b' }}"),
        ("int arithmetic", "{{ 7 + 2 }} {{ 7 - 2 }} {{ 7 * 2 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ 7 % 2 }} {{ 7 ** 2 }}"),
        ("true division of ints gives float", "{{ 4 / 2 }} {{ 1 / 3 }}"),
        ("float arithmetic", "{{ 1.5 + 2 }} {{ 0.1 + 0.2 }} {{ 2.0 * 3 }} {{ 7.5 // 2 }} {{ 7.5 % 2 }} {{ 2 ** 0.5 }}"),
        ("negative floor division and modulo", "{{ -7 // 2 }} {{ -7 % 2 }} {{ 7 // -2 }} {{ 7 % -2 }} {{ -7.5 // 2 }} {{ -7.5 % 2 }}"),
        ("unary minus", "{{ -3 }} {{ -(2 + 3) }} {{ - -4 }} {{ -x }}", {"x": 5}),
        ("power precedence", "{{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 2 * 3 + 4 }} {{ 2 * (3 + 4) }}"),
        ("big int", "{{ 2 ** 64 }} {{ 10 ** 20 }}"),
        ("string repetition", "{{ '-' * 3 }}{{ 2 * 'ab' }}"),
        ("list concatenation", "{{ [1, 2] + [3] }}"),
        ("comparisons", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ [1,2] == [1,2] }}"),
        ("chained comparison", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }}"),
        ("and or not", "{{ true and false }} {{ true or false }} {{ not true }} {{ not (true and false) }}"),
        ("and/or return operands", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ none or [] }}"),
        ("not precedence", "{{ not 1 == 2 }} {{ not x in [1] }}", {"x": 1}),
        ("in string", "{{ 'ell' in 'hello' }} {{ 'z' in 'hello' }} {{ 'z' not in 'hello' }}"),
        ("in list", "{{ 2 in [1, 2] }} {{ 3 not in [1, 2] }}"),
        ("in dict checks keys", "{{ 'a' in d }} {{ 1 in d }} {{ 'b' not in d }}", {"d": {"a": 1}}),
        ("conditional expression", "{{ 'yes' if x else 'no' }} {{ 'yes' if not x else 'no' }}", {"x": True}),
        ("conditional without else renders empty", "[{{ 'yes' if x }}]", {"x": False}),
        ("conditional without else in concat", "{{ 'a' ~ ('b' if false) ~ 'c' }}"),
        ("conditional without else is undefined", "{{ ('b' if false) is defined }}"),
        ("nested conditional", "{{ 'a' if x == 1 else 'b' if x == 2 else 'c' }}", {"x": 2}),
        ("parenthesised tuple literal", "{{ (1, 2) }} {{ (1,) }} {{ () }}"),
        ("list literal", "{{ [1, 'two', [3]] }}"),
        ("dict literal", "{{ {'a': 1, 'b': [2]} }}"),
        ("dict literal trailing comma", "{{ {'a': 1,} }} {{ [1,] }}"),
        ("string escapes", "{{ 'a\\nb' }}|{{ 'tab\\there' }}|{{ \"q\\\"q\" }}|{{ 'it\\'s' }}|{{ '\\u00e9\\x41' }}|{{ 'back\\\\slash' }}"),
        ("adjacent string literals concatenate", "{{ 'a' 'b' \"c\" }}"),
        ("integer with underscore and float exponent", "{{ 1_000 }} {{ 1e3 }} {{ 2.5E-3 }}"),
        ("operator on undefined concat", "[{{ 'a' ~ missing ~ 'b' }}]"),
        ("string comparison equality with number", "{{ '1' == 1 }}"),
        ("int plus float", "{{ 1 + 1.0 }} {{ 3 * 1.0 }}"),
        ("division result rendering", "{{ 10 / 4 }} {{ 9 / 3 }} {{ 1 / 8 }}"),
        ("modulo formatting operator on strings", "{{ '%s-%d' % ('a', 3) }}"),
    ])
    errors("ops", [
        ("division by zero", "{{ 1 / 0 }}"),
        ("string plus int", "{{ 'a' + 1 }}"),
        ("undefined plus string", "{{ missing + 'a' }}"),
        ("undefined arithmetic", "{{ missing * 2 }}"),
    ])


def test_cases() -> None:
    cases("is", [
        ("defined/undefined", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ x is not defined }}", {"x": 1}),
        ("none", "{{ x is none }} {{ y is none }} {{ x is not none }}", {"x": None, "y": 0}),
        ("none variable is defined", "{{ x is defined }}", {"x": None}),
        ("string", "{{ 'a' is string }} {{ 1 is string }} {{ ['a'] is string }}"),
        ("number", "{{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ '1' is number }}"),
        ("integer/float", "{{ 1 is integer }} {{ 1.0 is integer }} {{ 1.0 is float }} {{ true is integer }}"),
        ("mapping", "{{ {} is mapping }} {{ [] is mapping }} {{ d is mapping }}", {"d": {"a": 1}}),
        ("iterable", "{{ [] is iterable }} {{ 'abc' is iterable }} {{ {} is iterable }} {{ 1 is iterable }} {{ none is iterable }}"),
        ("sequence", "{{ [] is sequence }} {{ 'abc' is sequence }} {{ {} is sequence }} {{ 1 is sequence }}"),
        ("boolean/true/false", "{{ true is boolean }} {{ 1 is boolean }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }}"),
        ("sameas", "{{ none is sameas none }} {{ true is sameas true }} {{ 1 is sameas true }}"),
        ("even/odd", "{{ 2 is even }} {{ 3 is odd }} {{ 0 is even }} {{ -3 is odd }}"),
        ("divisibleby", "{{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }}"),
        ("eq/equalto/==", "{{ 1 is eq 1 }} {{ 'a' is equalto 'a' }} {{ 1 is eq 2 }}"),
        ("ne lt gt le ge", "{{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 1 is gt 2 }} {{ 2 is le 2 }} {{ 2 is ge 3 }}"),
        ("in test", "{{ 1 is in [1, 2] }} {{ 'b' is in 'abc' }} {{ 'x' is in {'x': 1} }}"),
        ("lower/upper", "{{ 'abc' is lower }} {{ 'aBc' is lower }} {{ 'ABC' is upper }}"),
        ("callable", "{{ range is callable }} {{ 'a' is callable }} {{ raise_exception is callable }}"),
        ("is not", "{{ 1 is not string }} {{ 'a' is not string }}"),
        ("is on content list", "{{ c is string }} {{ c is iterable }} {{ c is sequence }}", {"c": [{"type": "text", "text": "x"}]}),
        ("filter test", "{{ 'upper' is filter }} {{ 'nosuch' is filter }} {{ 'odd' is test }}"),
        ("escaped", "{{ 'a' is escaped }}"),
        ("undefined in test is false for none", "{{ none is defined }} {{ missing is none }}"),
    ])


def access_cases() -> None:
    m = {"m": {"role": "user", "content": "hi", "items": "not the method"}}
    cases("access", [
        ("subscript dict", "{{ m['role'] }}", m),
        ("attribute on dict", "{{ m.role }}", m),
        ("attribute prefers attribute: m.items is the method", "{{ m.items is callable }} {{ m['items'] }}", m),
        ("missing key is undefined", "[{{ m.nothing }}][{{ m['nothing'] }}] {{ m.nothing is defined }}", m),
        ("list index", "{{ l[0] }}{{ l[-1] }}", {"l": [1, 2, 3]}),
        ("list out of range is undefined", "[{{ l[10] }}] {{ l[10] is defined }}", {"l": [1]}),
        ("string index", "{{ 'abc'[1] }}{{ 'abc'[-1] }}"),
        ("list attribute index (l.0)", "{{ l.0 }}", {"l": ["zero"]}),
        ("slice [1:]", "{{ l[1:] }}", {"l": [1, 2, 3]}),
        ("slice [:-1]", "{{ l[:-1] }}", {"l": [1, 2, 3]}),
        ("slice [::-1]", "{{ l[::-1] }} {{ 'abc'[::-1] }}", {"l": [1, 2, 3]}),
        ("slice [::2] [1::2]", "{{ l[::2] }} {{ l[1::2] }}", {"l": [0, 1, 2, 3, 4]}),
        ("slice [-2:] and out of range", "{{ l[-2:] }} {{ l[5:] }} {{ l[1:100] }}", {"l": [1, 2, 3]}),
        ("string slice", "{{ 'hello'[1:3] }}{{ 'hello'[:-2] }}"),
        ("nested access", "{{ d.a.b[0].c }}", {"d": {"a": {"b": [{"c": "deep"}]}}}),
        ("dynamic key", "{% set k = 'role' %}{{ m[k] }}", m),
        ("tuple index", "{{ (1, 2)[1] }}"),
        ("messages[0]['content'][0]['text']", "{{ messages[0]['content'][0]['text'] }}",
         {"messages": [{"role": "user", "content": [{"type": "text", "text": "T"}]}]}),
    ])
    errors("access", [
        ("undefined.attr", "{{ missing.attr }}"),
        ("undefined['x']", "{{ missing['x'] }}"),
        ("attribute of missing key", "{{ m.nothing.deeper }}", m),
    ])


def string_method_cases() -> None:
    cases("str", [
        ("strip", "[{{ '  a b  '.strip() }}]"),
        ("strip chars", "[{{ 'xxaxx'.strip('x') }}][{{ '\\n\\nt\\n'.strip('\\n') }}]"),
        ("lstrip/rstrip", "[{{ '  a  '.lstrip() }}][{{ '  a  '.rstrip() }}][{{ 'abca'.lstrip('a') }}][{{ 'abca'.rstrip('a') }}]"),
        ("split whitespace", "{{ '  a  b\\tc\\n'.split() }}"),
        ("split sep", "{{ 'a,b,,c'.split(',') }}"),
        ("split maxsplit", "{{ 'a,b,c'.split(',', 1) }} {{ 'a b c'.split(none, 1) }}"),
        ("split then index", "{{ 'x</think>y'.split('</think>')[-1] }}{{ 'x</think>y'.split('</think>')[0] }}"),
        ("rsplit", "{{ 'a.b.c'.rsplit('.', 1) }}"),
        ("startswith/endswith", "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith('lo') }}"),
        ("startswith tuple", "{{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.endswith(('x', 'y')) }}"),
        ("case methods", "{{ 'hELLo wOrld'.lower() }} {{ 'hello'.upper() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}"),
        ("replace", "{{ 'aaa'.replace('a', 'b') }} {{ 'aaa'.replace('a', 'b', 2) }}"),
        ("find/count/index", "{{ 'hello'.find('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ 'hello'.index('o') }}"),
        ("str.join", "{{ ', '.join(['a', 'b']) }}{{ ''.join(['x', 'y']) }}"),
        ("format allowed", "{{ '{} and {}'.format('a', 'b') }} {{ '{x}!'.format(x=1) }}"),
        ("splitlines", "{{ 'a\\nb\\r\\nc'.splitlines() }}"),
        ("isdigit/isalpha/isspace", "{{ '123'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }}"),
        ("zfill/center/ljust", "[{{ '7'.zfill(3) }}][{{ 'a'.center(5) }}][{{ 'a'.ljust(3, '.') }}]"),
        ("swapcase", "{{ 'aB'.swapcase() }}"),
        ("removeprefix", "{{ 'prefix-x'.removeprefix('prefix-') }}"),
        ("strip on variable content", "[{{ c.strip() }}]", {"c": "\n  message  \n"}),
    ])
    cases("dict", [
        ("items", "{{ d.items() | list }}", {"d": {"a": 1, "b": 2}}),
        ("keys/values", "{{ d.keys() | list }} {{ d.values() | list }}", {"d": {"a": 1, "b": 2}}),
        ("get", "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'def') }}", {"d": {"a": 1}}),
        ("get on nested", "{{ d.get('a', {}).get('b', 'none') }}", {"d": {}}),
        ("dict iteration order is insertion order", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "a": 2, "m": 3}}),
        ("copy allowed", "{{ d.copy() }}", {"d": {"a": 1}}),
    ])
    errors("sandbox", [
        ("list.append refused", "{% set l = [1] %}{{ l.append(2) }}"),
        ("list.pop refused", "{% set l = [1] %}{{ l.pop() }}"),
        ("dict.update refused", "{% set d = {} %}{{ d.update({'a': 1}) }}"),
        ("dict.pop refused", "{{ d.pop('a') }}", {"d": {"a": 1}}),
        ("dict.setdefault refused", "{{ d.setdefault('a', 1) }}", {"d": {}}),
        ("list.sort refused", "{{ l.sort() }}", {"l": [2, 1]}),
    ])


def filter_cases() -> None:
    users = {"users": [{"name": "b", "age": 30, "admin": True}, {"name": "a", "age": 20, "admin": False},
                       {"name": "c", "age": 25}]}
    cases("filter", [
        ("trim", "[{{ '  x  ' | trim }}][{{ 'xxhixx' | trim('x') }}]"),
        ("length/count", "{{ [1, 2, 3] | length }} {{ 'abcd' | length }} {{ {'a': 1} | count }}"),
        ("join", "{{ [1, 2, 3] | join }} {{ ['a', 'b'] | join(', ') }}"),
        ("join attribute", "{{ users | join(', ', attribute='name') }}", users),
        ("default", "{{ missing | default('dflt') }} {{ '' | default('dflt') }} {{ '' | default('dflt', true) }} {{ none | default('d') }}"),
        ("d alias and boolean=true", "{{ missing | d('x') }} {{ 0 | default(5, boolean=true) }}"),
        ("default of defined none", "[{{ x | default('fallback') }}]", {"x": None}),
        ("first/last", "{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | first }}"),
        ("first of empty is undefined", "[{{ [] | first }}]"),
        ("list", "{{ 'abc' | list }} {{ range(3) | list }} {{ {'a': 1, 'b': 2} | list }}"),
        ("map attribute", "{{ users | map(attribute='name') | join(',') }}", users),
        ("map attribute default", "{{ users | map(attribute='admin', default='?') | list }}", users),
        ("map filter name", "{{ ['a', 'b'] | map('upper') | list }} {{ [1.5, 2.5] | map('int') | list }}"),
        ("map with filter args", "{{ ['a b', 'c d'] | map('replace', ' ', '_') | list }}"),
        ("select/reject", "{{ range(6) | select('odd') | list }} {{ range(6) | reject('odd') | list }}"),
        ("select truthy", "{{ [0, 1, '', 'a', none] | select | list }}"),
        ("select with test arg", "{{ [1, 5, 10] | select('gt', 3) | list }} {{ ['a', 'b'] | select('equalto', 'b') | list }}"),
        ("selectattr", "{{ users | selectattr('admin') | map(attribute='name') | list }}", users),
        ("selectattr with test", "{{ users | selectattr('age', 'gt', 22) | map(attribute='name') | list }}", users),
        ("selectattr equalto", "{{ parts | selectattr('type', 'equalto', 'image') | list | length }}",
         {"parts": [{"type": "image"}, {"type": "text", "text": "x"}, {"type": "image"}]}),
        ("selectattr defined", "{{ users | selectattr('admin', 'defined') | map(attribute='name') | list }}", users),
        ("rejectattr", "{{ users | rejectattr('admin') | map(attribute='name') | list }}", users),
        ("rejectattr with test", "{{ users | rejectattr('age', 'lt', 25) | map(attribute='name') | list }}", users),
        ("unique", "{{ [1, 2, 1, 3, 2] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }}"),
        ("int", "{{ '42' | int }} {{ 3.9 | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ '0x1A' | int(0, 16) }} {{ -3.9 | int }}"),
        ("float", "{{ '1.5' | float }} {{ 2 | float }} {{ 'x' | float }}"),
        ("string", "{{ 1 | string }} {{ none | string }} {{ [1, 'a'] | string }}"),
        ("case filters", "{{ 'hELLO' | capitalize }} {{ 'hello world' | title }} {{ 'ABC' | lower }} {{ 'abc' | upper }}"),
        ("title with apostrophe and hyphen", "{{ \"it's a well-known fact\" | title }}"),
        ("indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, first=true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}"),
        ("indent string width", "{{ 'a\\nb' | indent('> ') }}"),
        ("tojson plain", "{{ {'a': 1, 'b': [1, 2.5, none, true, false], 'c': 'x'} | tojson }}"),
        ("tojson indent", "{{ {'a': 1, 'b': {'c': [1, 2]}} | tojson(indent=2) }}"),
        ("tojson non-ascii kept", "{{ {'t': 'caf\u00e9 \u65e5\u672c \U0001F600'} | tojson }}"),
        ("tojson escapes", "{{ 'q\"b\\\\n\\n\\t<>&\\'' | tojson }}"),
        ("tojson key order preserved", "{{ d | tojson }}", {"d": {"z": 1, "a": {"y": 2, "b": 3}}}),
        ("tojson sort_keys", "{{ d | tojson(sort_keys=true) }}", {"d": {"z": 1, "a": {"y": 2, "b": 3}}}),
        ("tojson separators", "{{ d | tojson(separators=(',', ':')) }}", {"d": {"a": [1, 2], "b": "c"}}),
        ("tojson floats", "{{ [1.0, 0.1, 1e20, 1e-5, 3.14159, -0.0, 2.5e15, 1e16, 100.0, 1.5e300] | tojson }}"),
        ("tojson ints and big ints", "{{ [0, -1, 2 ** 64] | tojson }}"),
        ("tojson string", "{{ 'plain' | tojson }}"),
        ("tojson tuple", "{{ (1, 'a') | tojson }}"),
        ("tojson indent list of dicts", "{{ tools | tojson(indent=4) }}",
         {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
        ("tojson empty containers", "{{ {} | tojson }} {{ [] | tojson }} {{ {'a': {}} | tojson(indent=2) }}"),
        ("tojson of undefined? (null? no: error)", "{{ d.x is defined }}", {"d": {}}),
        ("replace filter", "{{ 'aXbXc' | replace('X', '-') }} {{ 'aaa' | replace('a', 'b', 2) }}"),
        ("reverse", "{{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }}"),
        ("sort", "{{ [3, 1, 2] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}"),
        ("sort attribute", "{{ users | sort(attribute='age') | map(attribute='name') | join }}", users),
        ("sum", "{{ [1, 2, 3] | sum }} {{ users | sum(attribute='age') }} {{ [1.5, 2] | sum }} {{ [1] | sum(start=10) }}", users),
        ("min/max", "{{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }} {{ ['b', 'A', 'c'] | max }} {{ users | max(attribute='age') }}", users),
        ("abs", "{{ -3 | abs }} {{ -2.5 | abs }}"),
        ("round", "{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(method='ceil') }} {{ 2.9 | round(0, 'floor') }} {{ 3 | round }}"),
        ("batch", "{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 'x') | list }}"),
        ("slice filter", "{{ [1, 2, 3, 4, 5] | slice(2) | list }}"),
        ("dictsort", "{{ {'b': 1, 'a': 2} | dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value') }}"),
        ("items filter", "{{ {'b': 1, 'a': 2} | items | list }}"),
        ("wordcount", "{{ 'one two  three' | wordcount }}"),
        ("center", "[{{ 'ab' | center(6) }}]"),
        ("truncate", "{{ 'hello world foo bar' | truncate(9) }}|{{ 'hello world foo bar' | truncate(9, true) }}|{{ 'short' | truncate(9) }}"),
        ("striptags", "{{ '<b>bold</b>  and <i>it</i>' | striptags }}"),
        ("escape and safe (autoescape off)", "{{ '<a&b>' }} {{ '<a&b>' | e }} {{ '<a&b>' | escape }} {{ '<x>' | safe }}"),
        ("escape then concat", "{{ ('<' | e) ~ '<' }}"),
        ("urlencode", "{{ 'a b&c' | urlencode }} {{ {'q': 'x y', 'n': 1} | urlencode }}"),
        ("xmlattr", "<x{{ {'class': 'a', 'id': 1} | xmlattr }}>"),
        ("filesizeformat", "{{ 1000000 | filesizeformat }} {{ 1024 | filesizeformat(true) }}"),
        ("format filter", "{{ '%s=%05.1f' | format('x', 3.14159) }}"),
        ("pprint", "{{ {'a': [1, 2]} | pprint }}"),
        ("groupby", "{% for g in users | groupby('admin', default=false) %}{{ g.grouper }}:{{ g.list | map(attribute='name') | join }} {% endfor %}", users),
        ("attr filter", "{{ d | attr('keys') is callable }}", {"d": {}}),
        ("random? (skipped) -> list | length", "{{ [1, 2] | length }}"),
        ("filter chain", "{{ '  A,B ,c ' | trim | lower | replace(' ', '') }}"),
        ("filter precedence over unary minus", "{{ -1 | abs }}"),
        ("filter binds tighter than +", "{{ 'a' + 'b' | upper }}"),
        ("length of undefined", "{{ missing | length }}"),
        ("list of undefined", "{{ missing | list }}"),
        ("join of undefined", "[{{ missing | join(',') }}]"),
        ("string of undefined", "[{{ missing | string }}]"),
        ("trim of undefined", "[{{ missing | trim }}]"),
        ("selectattr over undefined", "{{ missing | selectattr('a') | list }}"),
        ("default chain", "{{ missing | default(none) | default('second') }}"),
    ])
    errors("filter", [
        ("unknown filter (compile time)", "line1\n{{ 'x' | nosuchfilter }}"),
        ("unknown test", "{{ 1 is nosuchtest }}"),
        ("tojson of undefined", "{{ missing | tojson }}"),
        ("sum of strings", "{{ ['a', 'b'] | sum }}"),
        ("sort mixed types", "{{ [1, 'a'] | sort }}"),
        ("map on undefined attribute of undefined", "{{ missing.x | map('upper') | list }}"),
    ])


def value_rendering_cases() -> None:
    cases("render", [
        ("None", "{{ none }}|{{ None }}|{{ x }}", {"x": None}),
        ("True/False", "{{ true }} {{ false }} {{ True }} {{ False }}"),
        ("ints", "{{ 0 }} {{ -5 }} {{ 123456789012345678901234567890 }}"),
        ("floats", "{{ 1.0 }} {{ 0.1 }} {{ 1e20 }} {{ 1e-5 }} {{ 3.14159 }} {{ -0.0 }} {{ 2.5e15 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 123456789.123 }}"),
        ("floats from vars", "{{ a }} {{ b }} {{ c }} {{ d }} {{ e }}", {"a": 1.0, "b": 1e16, "c": 1e-5, "d": 2.5e15, "e": 0.30000000000000004}),
        ("float arithmetic rendering", "{{ 0.1 * 3 }} {{ 1e16 + 1 }} {{ 10 ** -5 }} {{ 2 ** 0.5 * 2 ** 0.5 }}"),
        ("inf and nan", "{{ 1e400 }} {{ -1e400 }} {{ 1e400 - 1e400 }}"),
        ("list repr", "{{ [1, 'a', none, true, 1.5] }}"),
        ("list with quote in string", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"'] }}"),
        ("list with escapes", "{{ ['a\\nb', 'tab\\t', 'back\\\\slash', '\\u00e9', '\\x00', '\\x7f'] }}"),
        ("list with non-ascii and emoji", "{{ ['caf\u00e9', '\u65e5\u672c', '\U0001F600', '\u200b'] }}"),
        ("dict repr", "{{ {'a': 1, 'b': 'two', 'c': none} }}"),
        ("nested repr", "{{ {'l': [1, {'k': 'v'}], 't': (1, 2)} }}"),
        ("empty containers", "{{ [] }} {{ {} }} {{ () }} {{ (1,) }}"),
        ("messages repr", "{{ messages }}", {"messages": [{"role": "user", "content": "Hi"}]}),
        ("tuple of strings", "{{ ('a', 'b') }}"),
        ("undefined renders empty", "[{{ missing }}]"),
        ("string literal with unicode", "{{ '\\u00e9t\\u00e9' }} {{ 'ü' }}"),
        ("dict with int keys", "{{ {1: 'a', 2.5: 'b'} }}"),
        ("bool in list", "{{ [true, false] }}"),
        ("float in dict", "{{ {'x': 1e16, 'y': 1e-5, 'z': -0.0} }}"),
        ("int/float var from JSON", "{{ n }} {{ f }} {{ n is integer }} {{ f is float }}", {"n": 3, "f": 3.0}),
        ("string with only whitespace", "[{{ '   ' }}]"),
        ("range object repr", "{{ range(3) }}"),
        ("dict items repr", "{{ {'a': 1}.items() }}"),
        ("joiner of map is generator", "{{ [1, 2] | map('string') | join('-') }}"),
        ("map without list renders generator repr? -> list", "{{ ([1, 2] | map('string') | list) }}"),
    ])


def lenient_cases() -> None:
    """Things that look like errors but are not in jinja2 (undefined instead)."""
    cases("lenient", [
        ("none.attr is undefined, not an error", "[{{ x.attr }}]", {"x": None}),
        ("subscript of int is undefined, not an error", "[{{ x[0] }}]", {"x": 5}),
        ("dunder attribute is undefined in the sandbox", "[{{ ''.__class__ }}] {{ ''.__class__ is defined }}"),
        ("unsafe attribute inside str.format renders empty", "[{{ '{0.__class__}'.format(1) }}]"),
        ("int of none is 0", "{{ none | int }}"),
        ("first of undefined is undefined", "[{{ missing | first }}]"),
        ("upper of none stringifies", "{{ none | upper }} {{ 1 | upper }} {{ true | lower }}"),
    ])


def syntax_error_cases() -> None:
    errors("syntax", [
        ("unclosed expression tag", "a\n{{ x "),
        ("unclosed block tag", "a\n\n{% if x "),
        ("unknown tag", "ok\n{% frobnicate %}"),
        ("bad expression", "{{ 1 + }}"),
        ("missing endfor", "{% for x in xs %}\n{{ x }}\n"),
        ("missing endif", "line1\n{% if x %}\nyes"),
        ("endfor without for", "{% endfor %}"),
        ("unexpected endif in for", "{% for x in xs %}\n{% endif %}"),
        ("elif after else", "{% if a %}{% else %}{% elif b %}{% endif %}"),
        ("unclosed string", "{{ 'abc }}"),
        ("unclosed comment", "a {# never closed"),
        ("bad assignment target", "{% set 1 = 2 %}"),
        ("break outside loop", "{% break %}"),
        ("generation tag unclosed", "{% generation %}x"),
    ])
    errors("runtime", [
        ("error on line 3", "one\ntwo\n{{ missing.attr }}\nfour"),
        ("error in nested block on line 4", "{% for m in ms %}\n{% if m %}\n\n{{ m.content.nope.deeper }}\n{% endif %}\n{% endfor %}",
         {"ms": [{"content": {}}]}),
        ("calling undefined", "{{ nofunc() }}"),
        ("calling a string", "{{ 'a'() }}"),
        ("macro too many args", "{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}"),
        ("unpacking wrong count", "{% set a, b = [1, 2, 3] %}"),
        ("for over int", "{% for x in 5 %}{% endfor %}"),
    ])


def generation_cases() -> None:
    cases("generation", [
        ("generation block renders body", "A{% generation %}B{{ 1 }}{% endgeneration %}C"),
        ("generation in loop", "{% for m in ms %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}|{% endfor %}",
         {"ms": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
        ("generation with minus", "A  {%- generation -%}  B  {%- endgeneration -%}  C"),
    ])


# --------------------------------------------------------------------------------------------------------------
# Real templates
# --------------------------------------------------------------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone.",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}
TOOLS = [WEATHER_TOOL, TIME_TOOL]


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def system(text):
    return {"role": "system", "content": text}


def parts(*items):
    """Content list: strings are text parts, 'image'/'video' are media parts."""
    out = []
    for item in items:
        if item in ("image", "video"):
            out.append({"type": item})
        elif isinstance(item, dict):
            out.append(item)
        else:
            out.append({"type": "text", "text": item})
    return out


def tool_call_turn(name="get_weather", arguments=None, content="", call_id="call00001"):
    message = {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": {
        "name": name, "arguments": arguments if arguments is not None else {"city": "Paris", "unit": "celsius"}}}]}
    if content is not None:
        message["content"] = content
    return message


def tool_result(content='{"temperature": 21, "sky": "clear"}', name="get_weather", call_id="call00001"):
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": content}


# Conversations used by the real-template cases: name -> messages.
TEXT_CHATS = {
    "one user turn": [user("What is the capital of France?")],
    "system + user": [system("You are a terse assistant."), user("Name a prime number.")],
    "multi-turn": [user("Hi!"), assistant("Hello! How can I help?"), user("Tell me a joke.")],
    "multi-turn with system": [system("Be kind."), user("Hi!"), assistant("Hello."), user("Bye.")],
    "ends with assistant": [user("2+2?"), assistant("4")],
}
CONTENT_LIST_CHATS = {
    "text parts": [user(parts("Describe ", "this."))],
    "one image": [user(parts("image", "What is in the picture?"))],
    "two images and text": [user(parts("image", "image", "Compare the two images."))],
    "image after text": [user(parts("Look:", "image", "What color?"))],
    "video": [user(parts("video", "What happens in the video?"))],
    "images and videos": [user(parts("image", "video", "image", "video", "Summarise."))],
    "multi-turn with image": [user(parts("image", "What is it?")), assistant(parts("A cat.")), user(parts("Its color?"))],
    "system as parts + image": [{"role": "system", "content": parts("You see images.")}, user(parts("image", "Describe."))],
    "assistant string content": [user(parts("image", "What is it?")), assistant("A dog."), user(parts("Sure?"))],
}
TOOL_CHATS = {
    "tools, one user turn": ([user("What's the weather in Paris?")], TOOLS),
    "tools, system + user": ([system("You are a weather bot."), user("Weather in Paris?")], TOOLS),
    "tool call and result": ([user("What's the weather in Paris?"), tool_call_turn(), tool_result()], TOOLS),
    "tool call, result, answer, follow-up": (
        [user("Weather in Paris?"), tool_call_turn(), tool_result(), assistant("It is 21 degrees and clear."),
         user("And the time there?")], TOOLS),
    "two tool calls, two results": (
        [user("Weather and time in Paris?"),
         {"role": "assistant", "content": "", "tool_calls": [
             {"id": "call00001", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
             {"id": "call00002", "type": "function", "function": {"name": "get_time", "arguments": {"tz": "Europe/Paris"}}}]},
         tool_result(call_id="call00001"), tool_result('"10:20"', name="get_time", call_id="call00002")], TOOLS),
    "tool call without content key": (
        [user("What's the weather in Paris?"), tool_call_turn(content=None), tool_result()], TOOLS),
    "tool call with string arguments": (
        [user("Weather in Rome?"), tool_call_turn(arguments='{"city": "Rome"}'), tool_result()], TOOLS),
}
REASONING_CHATS = {
    "assistant with reasoning_content": [user("1+1?"), {"role": "assistant", "content": "2", "reasoning_content": "Add one and one."}, user("2+2?")],
    "assistant with inline think": [user("1+1?"), assistant("<think>\nAdd.\n</think>\n\n2"), user("3+3?")],
    "last assistant with reasoning": [user("1+1?"), {"role": "assistant", "content": "2", "reasoning_content": "Simple."}],
}


def load_template_sources() -> None:
    """Fill TEMPLATES/SOURCES with the real templates this machine has."""
    def add(name, text, source):
        TEMPLATES[name] = text
        SOURCES[name] = source

    try:
        from gguf import GGUFReader

        for gguf_name, key in [("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2 (gguf)"), ("gemma-3-270m-q4_k_m.gguf", "gemma3 (gguf)")]:
            path = GGUF_DIR / gguf_name
            if not path.exists():
                continue
            field = GGUFReader(str(path)).fields.get("tokenizer.chat_template")
            if field is None:
                print(f"note: {gguf_name} has no tokenizer.chat_template", file=sys.stderr)
                continue
            add(key, bytes(field.parts[field.data[0]]).decode("utf-8"), f"{gguf_name} tokenizer.chat_template")
    except ImportError:
        print("note: gguf not installed; GGUF templates skipped", file=sys.stderr)

    sys.path.insert(0, str(ROOT / "tools"))
    import make_tokenizer_fixtures as mtf  # noqa: E402

    add("gemma3", mtf.GEMMA3_TEMPLATE, "google/gemma-3-4b-it tokenizer_config.json chat_template (tools/make_tokenizer_fixtures.py GEMMA3_TEMPLATE)")

    for family in ("llava", "llava_onevision", "smolvlm", "idefics3"):
        path = ROOT / f"Tests/VisionTests/Fixtures/vlms/{family}/chat_template.jinja"
        if path.exists():
            add(family, path.read_text(), f"Tests/VisionTests/Fixtures/vlms/{family}/chat_template.jinja")

    llama_cpp = {
        "qwen2.5-instruct": "Qwen-Qwen2.5-7B-Instruct.jinja",
        "qwen3": "Qwen-Qwen3-0.6B.jinja",
        "qwen3.5-vl": "Qwen3.5-4B.jinja",
        "mimo-vl (qwen2.5-vl)": "MiMo-VL.jinja",
        "llama3.1": "meta-llama-Llama-3.1-8B-Instruct.jinja",
        "llama3.2": "meta-llama-Llama-3.2-3B-Instruct.jinja",
        "llama3.3": "meta-llama-Llama-3.3-70B-Instruct.jinja",
        "phi3.5": "microsoft-Phi-3.5-mini-instruct.jinja",
        "mistral-nemo": "mistralai-Mistral-Nemo-Instruct-2407.jinja",
        "mistral-small-3.2": "Mistral-Small-3.2-24B-Instruct-2506.jinja",
        "deepseek-r1-distill-qwen": "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
        "deepseek-r1-distill-llama": "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
        "hermes-2-pro": "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
        "hermes-3": "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
        "gemma2": "google-gemma-2-2b-it.jinja",
        "smollm3": "HuggingFaceTB-SmolLM3-3B.jinja",
        "qwq": "Qwen-QwQ-32B.jinja",
        "granite-3.3": "ibm-granite-granite-3.3-2B-Instruct.jinja",
    }
    for name, file in llama_cpp.items():
        path = LLAMA_TEMPLATES / file
        if path.exists():
            add(name, path.read_text(), f"llama.cpp models/templates/{file} (llama-cpp-python 0.3.36 sdist)")
        else:
            print(f"note: {path} missing; template {name} skipped", file=sys.stderr)

    extra = ROOT / "tools/jinja_templates"
    if extra.is_dir():
        for path in sorted(extra.glob("*.jinja")):
            source_file = path.with_suffix(".source")
            add(path.stem, path.read_text(), source_file.read_text().strip() if source_file.exists() else str(path))


# Special tokens each real template is rendered with (as the model's tokenizer special_tokens_map gives them).
SPECIAL_TOKENS = {
    "smollm2 (gguf)": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "unk_token": "<|endoftext|>", "pad_token": "<|im_end|>"},
    "gemma3": {"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"},
    "gemma2": {"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"},
    "llava": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"},
    "llava_onevision": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "smolvlm": {"bos_token": "<|im_start|>", "eos_token": "<end_of_utterance>", "unk_token": "<|endoftext|>", "pad_token": "<|im_end|>"},
    "idefics3": {"bos_token": "<|im_start|>", "eos_token": "<end_of_utterance>", "unk_token": "<|endoftext|>", "pad_token": "<|im_end|>"},
    "qwen2.5-instruct": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen3": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen3.5-vl": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen3-vl-thinking": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen2.5-vl": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "mimo-vl (qwen2.5-vl)": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwq": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "llama3.1": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama3.2": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama3.3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "hermes-2-pro": {"bos_token": "<|begin_of_text|>", "eos_token": "<|im_end|>"},
    "hermes-3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|im_end|>"},
    "deepseek-r1-distill-qwen": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "deepseek-r1-distill-llama": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "phi3.5": {"bos_token": "<s>", "eos_token": "<|endoftext|>", "unk_token": "<unk>", "pad_token": "<|endoftext|>"},
    "mistral-nemo": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "mistral-small-3.2": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "smollm3": {"eos_token": "<|im_end|>", "pad_token": "<|im_end|>"},
    "granite-3.3": {"bos_token": "<|end_of_text|>", "eos_token": "<|end_of_text|>"},
}

# Which conversation groups each real template gets.
TEXT_ONLY = ("text",)
PLANS = {
    "smollm2 (gguf)": ("text",),
    "gemma3": ("text", "content", "gemma-errors"),
    "gemma2": ("text",),
    "llava": ("content",),
    "llava_onevision": ("content",),
    "smolvlm": ("content",),
    "idefics3": ("content",),
    "qwen2.5-instruct": ("text", "tools"),
    "qwen3": ("text", "tools", "reasoning"),
    "qwen3.5-vl": ("text", "content", "tools", "reasoning"),
    "qwen3-vl-thinking": ("text", "content", "tools", "reasoning"),
    "qwen2.5-vl": ("text", "content"),
    "mimo-vl (qwen2.5-vl)": ("text",),
    "qwq": ("text", "tools"),
    "llama3.1": ("text", "tools"),
    "llama3.2": ("text", "tools"),
    "llama3.3": ("text", "tools"),
    "hermes-2-pro": ("text", "tools"),
    "hermes-3": ("text", "tools"),
    "deepseek-r1-distill-qwen": ("text",),
    "deepseek-r1-distill-llama": ("text",),
    "phi3.5": ("text",),
    "mistral-nemo": ("text", "tools"),
    "mistral-small-3.2": ("text", "content", "tools"),
    "smollm3": ("text", "tools"),
    "granite-3.3": ("text", "tools"),
}
# Keyword variables some templates read (passed to apply_chat_template as **kwargs).
EXTRA_KWARGS = {
    "qwen3": [{}, {"enable_thinking": False}],
    "qwen3.5-vl": [{}, {"enable_thinking": False}, {"add_vision_id": True}],
    "qwen3-vl-thinking": [{}, {"add_vision_id": True}],
    "qwen2.5-vl": [{}, {"add_vision_id": True}],
    "mimo-vl (qwen2.5-vl)": [{}],
    "smollm3": [{}, {"enable_thinking": False}],
    "llama3.2": [{}, {"date_string": "26 Jul 2024"}],
}


def template_vars(messages, tools, add_generation_prompt, special, extra) -> dict:
    """The variables apply_chat_template gives the template (see render_jinja_template)."""
    chat = [{k: v for k, v in m.items() if v is not None} for m in messages]
    chat = ctu._alias_reasoning_fields(ctu._plain_template_data(chat))
    return {"messages": chat, "tools": tools, "documents": None, "add_generation_prompt": add_generation_prompt,
            **special, **extra}


def real_case(template_name: str, chat_name: str, messages, tools=None, add_generation_prompt=True, extra=None,
              expect_error=False) -> None:
    template = TEMPLATES[template_name]
    special = SPECIAL_TOKENS.get(template_name, {})
    extra = extra or {}
    variables = template_vars(messages, tools, add_generation_prompt, special, extra)
    result = render(template, variables)
    # Cross-check against transformers' own entry point.
    try:
        via_transformers = ctu.render_jinja_template(
            conversations=[messages], tools=tools, chat_template=template,
            add_generation_prompt=add_generation_prompt, **special, **extra)[0][0]
        agrees = result.get("expected") == via_transformers
    except Exception as exc:  # noqa: BLE001
        agrees = "error" in result and result["error"]["message"] == str(exc)
    if not agrees:
        raise SystemExit(f"{template_name}/{chat_name}: direct render and render_jinja_template disagree")
    deliberate = "error" in result and result["error"]["type"] == "TemplateError"  # raise_exception()
    if "error" in result and not (expect_error or deliberate):
        print(f"skip {template_name}/{chat_name}: {result['error']['type']}: {result['error']['message'][:100]}",
              file=sys.stderr)
        return
    suffix = "".join(f" {k}={v}" for k, v in extra.items())
    CASES.append({
        "name": f"real/{template_name}/{chat_name}{' +gen' if add_generation_prompt else ''}{suffix}",
        "template_ref": template_name, "source": SOURCES[template_name], "vars": variables, **result})


def real_template_cases() -> None:
    for name, plan in PLANS.items():
        if name not in TEMPLATES:
            continue
        for extra in EXTRA_KWARGS.get(name, [{}]):
            if "text" in plan:
                for chat_name, messages in TEXT_CHATS.items():
                    for gen in (True, False):
                        if gen and chat_name == "ends with assistant" or extra and not gen:
                            continue
                        real_case(name, chat_name, messages, add_generation_prompt=gen, extra=extra)
            if "content" in plan:
                for chat_name, messages in CONTENT_LIST_CHATS.items():
                    real_case(name, chat_name, messages, extra=extra)
                    if chat_name == "one image" and not extra:
                        real_case(name, chat_name, messages, add_generation_prompt=False)
            if "tools" in plan:
                for chat_name, (messages, tools) in TOOL_CHATS.items():
                    real_case(name, chat_name, messages, tools=tools, extra=extra)
            if "reasoning" in plan:
                for chat_name, messages in REASONING_CHATS.items():
                    real_case(name, chat_name, messages, add_generation_prompt=chat_name != "last assistant with reasoning",
                              extra=extra)
        if "gemma-errors" in plan:
            real_case(name, "non-alternating roles (raises)", [user("a"), user("b")], expect_error=True)
            real_case(name, "assistant first (raises)", [assistant("a"), user("b")], expect_error=True)
            real_case(name, "system + parts + image", [system("Sys."), user(parts("image", "What?"))])


# --------------------------------------------------------------------------------------------------------------


def build() -> dict:
    whitespace_cases()
    for_loop_cases()
    if_set_cases()
    macro_cases()
    global_cases()
    operator_cases()
    test_cases()
    access_cases()
    string_method_cases()
    filter_cases()
    value_rendering_cases()
    lenient_cases()
    syntax_error_cases()
    generation_cases()
    load_template_sources()
    real_template_cases()
    if UNEXPECTED:
        raise SystemExit("\n".join(UNEXPECTED))
    names = [c["name"] for c in CASES]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SystemExit(f"duplicate case names: {sorted(duplicates)}")
    used = {c["template_ref"] for c in CASES if "template_ref" in c}
    return {
        "generator": "tools/make_jinja_fixtures.py",
        "transformers": transformers.__version__,
        "jinja2": jinja2.__version__,
        "now": FIXED_NOW.isoformat(),
        "templates": {name: TEMPLATES[name] for name in sorted(used)},
        "template_sources": {name: SOURCES[name] for name in sorted(used)},
        "cases": CASES,
    }


def check(path: Path) -> None:
    """Re-read the fixture and re-render every case: the JSON round trip must give the same results."""
    data = json.loads(path.read_text())
    bad = 0
    for c in data["cases"]:
        template = c.get("template") or data["templates"][c["template_ref"]]
        again = render(template, c["vars"])
        recorded = {k: c[k] for k in ("expected", "error") if k in c}
        if again != recorded:
            bad += 1
            print(f"MISMATCH {c['name']}: {again} != {recorded}", file=sys.stderr)
    if bad:
        raise SystemExit(f"{bad} cases are not reproducible")
    print(f"check: {len(data['cases'])} cases re-rendered identically")


def main() -> None:
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    n_err = sum("error" in c for c in data["cases"])
    n_real = sum("template_ref" in c for c in data["cases"])
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data['cases'])} cases ({n_real} real-template, {n_err} errors), "
          f"{len(data['templates'])} templates, {OUT.stat().st_size / 1e6:.2f} MB")
    check(OUT)


if __name__ == "__main__":
    main()
