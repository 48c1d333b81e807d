"""The Jinja sandbox every skill template renders in: the skill's ``render_template`` and the
admin's preview alike.

``templates.yaml`` is edited in the admin, so a template is text from outside the skill's code:
it must not reach Python (``cycler.__init__.__globals__.os``), read the skill's environment or
config (where its secrets are), change what it is given, or keep a thread busy. Jinja's
immutable sandbox refuses private attributes and mutation; on top of it this module bounds the
work one render may do: ``range()`` length, loop iterations plus calls plus filters, the size of
any value built (string repetition, joins, padding, big integers) and of the output. Past a
bound the render raises :class:`TemplateLimitError`, a ``SecurityError``; the skill answers its
apology and the admin shows a form error.
"""

from __future__ import annotations

import re
import string
import types
from functools import wraps

from jinja2 import Template, nodes, pass_context
from jinja2.compiler import CodeGenerator
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_NAMESPACE
from jinja2.exceptions import SecurityError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RANGE = 1_000  # items in one range(); spoken text never needs more
MAX_WORK = 100_000  # loop iterations + calls + filters in one render (~0.1 s)
MAX_SIZE = 100_000  # characters or items in any value, and in the output
MAX_INT_BITS = 4_096  # results of * and ** (a 1,233-digit number)

_BUDGET = "skill sandbox budget"  # not an identifier, so no template can name it
_LOOP_FILTER = "skill_sandbox_loop"
_SIZED = (str, bytes, list, tuple, dict, set, frozenset)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


class TemplateLimitError(SecurityError):
    """A template tried to do more work than speech needs."""


class _Budget:
    __slots__ = ("output", "work")

    def __init__(self):
        self.work = 0
        self.output = 0


def _budget(context) -> _Budget:
    # Kept in the context's parent mapping, which includes and derived contexts inherit, so a
    # template cannot reset its budget by including another one.
    budget = context.parent.get(_BUDGET)
    if budget is None:
        budget = context.parent[_BUDGET] = _Budget()
    return budget


def _charge(context, units: int = 1) -> None:
    budget = _budget(context)
    budget.work += units
    if budget.work > MAX_WORK:
        raise TemplateLimitError(f"the template did more than {MAX_WORK} steps")


def _check_size(value):
    if isinstance(value, _SIZED) and len(value) > MAX_SIZE:
        raise TemplateLimitError(f"the template built a value of {len(value)} items or "
                                 f"characters (at most {MAX_SIZE})")
    if isinstance(value, int) and not isinstance(value, bool) \
            and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(f"the template built a number over {MAX_INT_BITS} bits")
    return value


def _check_count(value) -> None:
    """An integer argument that sets how much to produce (a width, a count)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
        raise TemplateLimitError(f"{value} is more than a template may ask for "
                                 f"(at most {MAX_SIZE})")


def _check_format(text: str, percent: bool) -> None:
    """Refuse format widths that would pad a value to megabytes before anything could check."""
    if percent:
        specs = [width + "." + precision for width, precision in _PERCENT_SPEC.findall(text)]
    else:
        try:
            specs = [spec or "" for _, _, spec, _ in string.Formatter().parse(text)]
        except ValueError:
            return  # str.format raises its own error
    for spec in specs:
        if "*" in spec or "{" in spec:
            raise TemplateLimitError("format widths taken from arguments are not allowed")
        for digits in _DIGITS.findall(spec):
            _check_count(int(digits))


def _guard_filter(func, growth=None):
    """One of Jinja's filters with its count-like arguments (widths, counts) bounded, and the
    size of what it would build checked first when that can grow past the input's."""
    skip = 2 if getattr(func, "jinja_pass_arg", None) else 1  # the context, then the value

    @wraps(func)  # keeps jinja_pass_arg, so Jinja still passes the context or environment
    def guarded(*args, **kwargs):
        for value in (*args[skip:], *kwargs.values()):
            _check_count(value)
        if growth is not None and len(args) >= skip:
            grown = growth(*args[skip - 1:], **kwargs)
            if grown > MAX_SIZE:
                raise TemplateLimitError(f"the filter {func.__name__} would build "
                                         f"{grown} characters (at most {MAX_SIZE})")
        return func(*args, **kwargs)
    return guarded


def _size(value) -> int:
    return len(value) if isinstance(value, _SIZED) else len(str(value))


def _replace_growth(text, old="", new="", *args, **kwargs) -> int:
    text, old, new = str(text), str(old), str(new)
    pieces = len(text) + 1 if old == "" else len(text) // len(old)
    return len(text) + pieces * len(new)


def _join_growth(value, d="", *args, **kwargs) -> int:
    return _size(value) * max(len(str(d)), 1) if isinstance(value, _SIZED) else 0


def _indent_growth(text, width=4, *args, **kwargs) -> int:
    width = len(width) if isinstance(width, str) else int(width)
    return len(str(text)) + (str(text).count("\n") + 1) * width


def _wordwrap_growth(text, width=79, break_long_words=True, wrapstring=None, **kwargs) -> int:
    # At worst every character ends a line.
    return len(str(text)) * (1 + len(wrapstring or "\n"))


_GROWTH = {"replace": _replace_growth, "join": _join_growth, "indent": _indent_growth,
           "wordwrap": _wordwrap_growth}


def _lipsum(n=5, html=True, min=20, max=100):
    if n > 20 or max > 1000:
        raise TemplateLimitError("lipsum() of more than 20 paragraphs of 1000 words")
    return DEFAULT_NAMESPACE["lipsum"](n, html, min, max)


def _format_filter(value, *args, **kwargs):
    _check_format(str(value), percent=True)
    return DEFAULT_FILTERS["format"](value, *args, **kwargs)


def _bounded_range(*args):
    for value in args:
        _check_count(value)
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateLimitError(f"range() of {len(numbers)} numbers (at most {MAX_RANGE})")
    return numbers


@pass_context
def _loop_guard(context, iterable):
    # Every {% for %} iterates through this, so nested loops share the render's budget.
    budget = _budget(context)
    for item in iterable:
        budget.work += 1
        if budget.work > MAX_WORK:
            raise TemplateLimitError(f"the template did more than {MAX_WORK} steps")
        yield item



class _GuardedCodeGenerator(CodeGenerator):
    """Routes loops, filter results and ``~`` joins through the environment's checks."""

    def visit_Template(self, node, frame=None):
        for loop in list(node.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, _LOOP_FILTER, [], [], None, None,
                                     lineno=loop.lineno)
        super().visit_Template(node, frame)

    def visit_Filter(self, node, frame):
        self.write("environment.checked(context, ")
        super().visit_Filter(node, frame)
        self.write(")")

    def visit_Concat(self, node, frame):
        self.write("environment.concat_parts(context, (")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


class SkillTemplate(Template):
    """A template whose rendered text is bounded too (includes render through it)."""

    def render(self, *args, **kwargs) -> str:
        context = self.new_context(dict(*args, **kwargs))
        try:
            return self.environment.concat(self._bounded(context))
        except Exception:
            self.environment.handle_exception()

    def generate(self, *args, **kwargs):
        context = self.new_context(dict(*args, **kwargs))
        try:
            yield from self._bounded(context)
        except Exception:
            yield self.environment.handle_exception()

    def _bounded(self, context):
        budget = _budget(context)
        for chunk in self.root_render_func(context):
            budget.output += len(chunk)
            if budget.output > MAX_SIZE:
                raise TemplateLimitError(f"the template spoke more than {MAX_SIZE} characters")
            yield chunk


class SkillSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounded work. Takes ``Environment``'s arguments."""

    code_generator_class = _GuardedCodeGenerator
    template_class = SkillTemplate
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, func in DEFAULT_FILTERS.items():
            if self.filters.get(name) is func:
                self.filters[name] = _guard_filter(func, _GROWTH.get(name))
        self.filters["format"] = _format_filter
        self.filters[_LOOP_FILTER] = _loop_guard
        self.globals["range"] = _bounded_range
        self.globals["lipsum"] = _lipsum

    def checked(self, context, value):
        _charge(context)
        return _check_size(value)

    def concat_parts(self, context, parts):
        if sum(len(part) if isinstance(part, str) else len(str(part)) for part in parts) \
                > MAX_SIZE:
            raise TemplateLimitError(f"the template joined more than {MAX_SIZE} characters")
        join = markup_join if context.eval_ctx.autoescape else str_join
        return join(parts)

    def call_binop(self, context, operator_name, left, right):
        _precheck_binop(operator_name, left, right)
        return _check_size(super().call_binop(context, operator_name, left, right))

    def call(__self, __context, __obj, *args, **kwargs):
        _charge(__context)
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(
                getattr(__obj, "__self__", None), _SIZED):
            # str.center(10**9), str.ljust(...), list.index(x, 10**9): sizes of builtins
            for value in (*args, *kwargs.values()):
                _check_count(value)
            if isinstance(__obj.__self__, str) and __obj.__name__ == "replace" and len(args) > 1:
                _precheck_growth(_replace_growth(__obj.__self__, *args[:2]))
            elif isinstance(__obj.__self__, str) and __obj.__name__ == "join" and args:
                _precheck_growth(_join_growth(args[0], __obj.__self__))
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def unsafe_undefined(self, obj, attribute):
        # Jinja returns an undefined that raises only when used; a lenient undefined (the
        # admin's preview) would print it instead. Reaching for one is refused at once.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} "
                            "object is unsafe.")

    def wrap_str_format(self, value):
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__, percent=False)
        return wrapped


def _precheck_binop(name: str, left, right) -> None:
    """Refuse before computing: the result's size is known from the operands'."""
    def is_int(value):
        return isinstance(value, int) and not isinstance(value, bool)

    if name == "*":
        if is_int(left) and is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TemplateLimitError(f"the template built a number over {MAX_INT_BITS} bits")
        elif (isinstance(left, _SIZED) and is_int(right) and len(left) * right > MAX_SIZE) or \
                (isinstance(right, _SIZED) and is_int(left) and len(right) * left > MAX_SIZE):
            raise TemplateLimitError(f"the template repeated a value past {MAX_SIZE} items")
    elif name == "**" and is_int(left) and is_int(right) and right > 0:
        if max(left.bit_length(), 1) * right > MAX_INT_BITS:
            raise TemplateLimitError(f"the template built a number over {MAX_INT_BITS} bits")
    elif name == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
        if len(left) + len(right) > MAX_SIZE:
            raise TemplateLimitError(f"the template joined more than {MAX_SIZE} items")
    elif name == "%" and isinstance(left, str):
        _check_format(left, percent=True)


def _precheck_growth(grown: int) -> None:
    if grown > MAX_SIZE:
        raise TemplateLimitError(f"the template built a value past {MAX_SIZE} characters")


def sandbox_environment(**options) -> SkillSandbox:
    """The environment the admin previews and checks templates in (autoescape off: speech)."""
    options.setdefault("autoescape", False)
    return SkillSandbox(**options)

