"""Which images a tenant's Dockerfile may read, checked before the daemon sees the Dockerfile.

Every org's runtime images live on the same daemon (and registry), so ``FROM pyrun/runtimes-org8:rt12`` or
``COPY --from=<that image>`` would read another tenant's image; an arbitrary registry is a host the daemon
contacts from the host's network; and ``ADD https://...`` makes the daemon itself download a URL, from the host,
outside the build's fenced network (the metadata endpoint, the platform's own services). So, for every image a
Dockerfile names:

- the platform's runtime repository (``PYRUN_DOCKER_REPOSITORY``, bare or ``-org<N>``) only as the tenant's own
  ``-org<own id>`` repository;
- a registry from ``PYRUN_DOCKER_ALLOWED_REGISTRIES`` or the platform's own (no registry host means docker.io);
- never a bare image id (``FROM 3f2a9c``: the daemon looks names it cannot find up as id prefixes);
- and ``ADD`` never downloads.

The daemon's own Dockerfile parser is mirrored closely (parser directives, continuation lines with comments in
between, builder flags with quotes, ``ARG`` defaults and build args expanded with its shell-word rules): an image
name that cannot be resolved exactly as the daemon would resolve it is refused, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings

from pyrun_web.errors import PyrunError

DEFAULT_DOMAIN = "docker.io"

# github.com/distribution/reference, regexp.go
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)
# What the daemon would look up as an image id (prefix): ``3f2a9c``, ``sha256:3f2a9c``.
_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]+")
_DIRECTIVE = re.compile(r"#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*")
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*")


class Unresolvable(Exception):
    """A word whose value the daemon would compute differently than we can, or not at all."""


@dataclass(frozen=True)
class ImagePolicy:
    own_repository: str  # e.g. "pyrun/runtimes-org7" (a path, without registry)
    platform_repository: str  # e.g. "pyrun/runtimes"
    allowed_registries: frozenset[str]

    @classmethod
    def for_org(cls, org_id: int) -> ImagePolicy:
        base = settings.PYRUN_DOCKER_REPOSITORY.strip("/").lower()
        registries = {r.strip().lower() for r in settings.PYRUN_DOCKER_ALLOWED_REGISTRIES if r.strip()}
        if settings.PYRUN_DOCKER_REGISTRY:
            registries.add(settings.PYRUN_DOCKER_REGISTRY.strip("/").lower())
        return cls(f"{base}-org{org_id}", base, frozenset(_canonical_domain(r) for r in registries))

    def refusal(self, image: str) -> str | None:
        """Why ``image`` (a resolved reference) may not be used, or None."""
        if _IMAGE_ID.fullmatch(image):
            return "it looks like an image id; name a repository and tag instead"
        try:
            domain, path = split_reference(image)
        except ValueError:
            return "it is not a valid image reference"
        # Compared without the registry (a runtime image may sit on the daemon and on the registry) and
        # without docker.io's "library/" (which a bare one-word repository setting would get).
        bare, base = _unlibrary(path), _unlibrary(self.platform_repository)
        own = _unlibrary(self.own_repository)
        if bare != own and (bare == base or bare.startswith((f"{base}-org", f"{base}/"))):
            return f"it is another runtime repository of this platform; only this organisation's {own} may be used"
        if domain not in self.allowed_registries:
            allowed = ", ".join(sorted(self.allowed_registries))
            return f"the registry {domain} is not allowed here (allowed: {allowed})"
        return None


def split_reference(image: str) -> tuple[str, str]:
    """(registry, repository path) the daemon makes of ``image``, e.g. ``("docker.io", "library/python")``."""
    found = _REFERENCE.fullmatch(image)
    if not found or len(found.group("name")) > 255:
        raise ValueError(image)
    name = found.group("name")
    first, slash, rest = name.partition("/")
    # distribution/reference splitDockerDomain
    if not slash or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    domain = _canonical_domain(domain)
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if path != path.lower():
        raise ValueError(image)
    return domain, path


def _canonical_domain(domain: str) -> str:
    domain = domain.lower()
    return DEFAULT_DOMAIN if domain == "index.docker.io" else domain


def _unlibrary(path: str) -> str:
    return path.removeprefix("library/")


# --- The daemon's Dockerfile parser (moby/buildkit frontend/dockerfile/parser), as far as images go ---------


@dataclass
class Instruction:
    line: int
    keyword: str  # lower case
    flags: list[str]
    rest: str  # the arguments after the flags


def instructions(text: str) -> tuple[str, list[Instruction]]:
    """(escape character, instructions) as the daemon splits ``text``."""
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    escape = "\\"
    for number, line in enumerate(lines, start=1):
        directive = _DIRECTIVE.fullmatch(line.strip())
        if not directive:
            break
        if directive.group(1).lower() == "escape":
            # Docker 20.10 honours it only on the first line, later versions after other directives too.
            if number != 1 or directive.group(2) not in ("\\", "`"):
                raise PyrunError(
                    "runtime:user:bad-dockerfile", line=number, problem="the escape directive must be the first line"
                )
            escape = directive.group(2)
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")

    def is_comment(line: str) -> bool:
        return _go_lstrip(line).startswith("#")

    def strip_continuation(line: str) -> tuple[str, bool]:
        stripped = continuation.sub("", line)
        return stripped, stripped == line

    out: list[Instruction] = []
    index = 0
    while index < len(lines):
        start, raw = index + 1, lines[index]
        index += 1
        if is_comment(raw):
            continue
        line, ended = strip_continuation(_go_lstrip(raw))
        if ended and not line.strip():
            continue
        while not ended and index < len(lines):
            raw = lines[index]
            index += 1
            if is_comment(raw) or not raw.strip():  # comments and blank lines inside an instruction are skipped
                continue
            piece, ended = strip_continuation(raw)
            line += piece
        out.append(parse_instruction(start, line))
    return escape, out


def parse_instruction(line: int, text: str) -> Instruction:
    """One instruction: lower-case keyword, builder flags (``--from=...``) and the rest, as ``splitCommand``."""
    parts = _WHITESPACE.split(text.strip(), maxsplit=1)
    flags, rest = _builder_flags(parts[1]) if len(parts) == 2 else ([], "")
    return Instruction(line, parts[0].lower(), flags, rest.strip())


# Go's unicode.IsSpace for the Latin-1 range; the flag parser applies it to single bytes of UTF-8 text.
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0")


def _is_space(ch: str) -> bool:
    return ch in _GO_SPACE if ord(ch) < 256 else ch.isspace()


def _go_lstrip(text: str) -> str:
    """``bytes.TrimLeftFunc(text, unicode.IsSpace)``: Python's ``lstrip`` strips more (``\\x1c``...), and a line
    we took for a comment while the daemon did not would go unchecked."""
    pos = 0
    while pos < len(text) and _is_space(text[pos]):
        pos += 1
    return text[pos:]


class _Cursor:
    """A position in a text read one character at a time, as the daemon's lexers read a line."""

    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def take(self) -> str | None:
        ch = self.peek()
        self.pos += ch is not None
        return ch

    def rest(self) -> str:
        return self.text[self.pos :]


def _builder_flags(text: str) -> tuple[list[str], str]:
    """``extractBuilderFlags``: leading ``--name=value`` words (quotes removed, backslash escapes), then the rest.
    Like the daemon, it works on the bytes of the line."""
    line = _Cursor(text.encode().decode("latin-1"))
    words: list[str] = []
    while True:
        while (ch := line.peek()) is not None and _is_space(ch):
            line.take()
        if ch is None:
            return words, ""
        if not line.rest().startswith("--"):
            return words, _from_bytes(line.rest())
        word, blank_ok, quote = "", False, ""
        while (ch := line.take()) is not None:
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\":
                    if line.peek() is None:
                        quote = ""
                        continue
                    word += line.take()
                else:
                    word += ch
                continue
            if _is_space(ch):
                break
            if ch in "'\"":
                quote, blank_ok = ch, True
                continue
            if ch == "\\":
                if line.peek() is None:
                    continue
                ch = line.take()
            word += ch
        if word == "--":
            return words, _from_bytes(line.rest())
        if blank_ok or word:
            words.append(_from_bytes(word))


def _from_bytes(text: str) -> str:
    """A string of bytes (one latin-1 character each) decoded as UTF-8, as the daemon prints it."""
    return text.encode("latin-1").decode(errors="replace")


def _parse_words(text: str, escape: str) -> list[str]:
    """``parseWords`` (ARG's arguments): whitespace-separated words, quotes kept, the escape token keeps the
    character after it in the word."""
    chars = _Cursor(text)
    words: list[str] = []
    word, in_word, quote, blank_ok = "", False, "", False
    while (ch := chars.take()) is not None:
        if quote:
            if ch == quote:
                quote = ""
            elif ch == escape and quote != "'":
                if chars.peek() is None:
                    continue
                word += ch
                ch = chars.take()
            word += ch
            continue
        if _is_space(ch):
            if in_word and (blank_ok or word):
                words.append(word)
            word, in_word, blank_ok = "", False, False
            continue
        in_word = True
        if ch in "'\"":
            quote, blank_ok = ch, True
        elif ch == escape:
            if chars.peek() is None:
                continue
            word += ch
            ch = chars.take()
        word += ch
    if in_word and (blank_ok or word):
        words.append(word)
    return words


class _Unknown:
    """An ARG whose default we cannot expand exactly as the daemon would."""


UNKNOWN = _Unknown()
# Variables FROM may use: value, None (declared without a value: the daemon expands it to ""), or UNKNOWN.
Env = dict[str, "str | _Unknown | None"]


class _Word(_Cursor):
    """``shell.Lex.ProcessWord`` for the forms a base image name reasonably uses: quotes, escapes, ``$NAME``,
    ``${NAME}``, ``${NAME:-word}``, ``${NAME:+word}``. Anything else raises ``Unresolvable``."""

    def __init__(self, text: str, env: Env, escape: str):
        super().__init__(text)
        self.env, self.escape = env, escape

    def process(self, stop: str | None = None) -> str:
        out: list[str] = []
        while (ch := self.peek()) is not None:
            if ch == stop:
                self.take()
                return "".join(out)
            if ch == "'":
                out.append(self._single_quoted())
            elif ch == '"':
                out.append(self._double_quoted())
            elif ch == "$":
                out.append(self._dollar())
            else:
                self.take()
                if ch == self.escape:
                    ch = self.take()
                    if ch is None:
                        break
                out.append(ch)
        if stop is not None:
            raise Unresolvable(f"no closing {stop}")
        return "".join(out)

    def _quoted(self, quote: str, name: str, piece: Callable[[], str | None]) -> str:
        """From an opening ``quote`` to its closing one (both consumed), the text that ``piece`` reads at a time."""
        self.take()
        out: list[str] = []
        while (ch := self.peek()) != quote:
            if ch is None:
                raise Unresolvable(f"no closing {name} quote")
            out.append(piece())
        self.take()
        return "".join(out)

    def _single_quoted(self) -> str:
        return self._quoted("'", "single", self.take)  # every character as it is

    def _double_quoted(self) -> str:
        return self._quoted('"', "double", self._in_double_quotes)

    def _in_double_quotes(self) -> str | None:
        """``$`` expands; the escape character escapes only ``"``, ``$`` and itself, and is kept before any other."""
        if self.peek() == "$":
            return self._dollar()
        ch = self.take()
        if ch == self.escape and self.peek() in ('"', "$", self.escape):
            return self.take()
        return ch

    def _name(self) -> str:
        start = self.pos
        while (ch := self.peek()) is not None and (ch.isascii() and (ch.isalnum() or ch == "_")):
            self.take()
        name = self.text[start : self.pos]
        # Digits first (positional), special parameters, non-ASCII letters: Docker versions differ on them.
        if not name or name[0].isdigit() or (ch is not None and not ch.isascii() and ch.isalnum()):
            raise Unresolvable("not a variable name")
        return name

    def _dollar(self) -> str:
        self.take()
        if self.peek() != "{":
            return self._value(self._name(), plain=True)
        self.take()
        name = self._name()
        ch = self.take()
        if ch == "}":
            return self._value(name, plain=True)
        if ch == ":" and (modifier := self.take()) in ("-", "+"):
            word = self.process(stop="}")
            value = self._value(name, plain=False)
            if modifier == "-":
                return value or word
            return word if value else ""
        raise Unresolvable("an unsupported substitution")

    def _value(self, name: str, *, plain: bool) -> str:
        value = self.env.get(name)
        if isinstance(value, _Unknown):
            raise Unresolvable(f"${name} has a default that cannot be expanded")
        if value is None and plain:
            # The daemon would expand it to "" (or ``:-`` to its fallback, which is fine): an image name made of
            # a variable nobody set is not what the author meant, and checking "" is checking nothing.
            raise Unresolvable(f"${name} has no value (declare it with ARG {name}=... before the first FROM)")
        return value or ""


def resolve(word: str, env: Env, escape: str = "\\") -> str:
    """``word`` expanded as the daemon expands a ``FROM`` (``Unresolvable`` when it cannot be known)."""
    return _Word(word, env, escape).process()


# --- The checks ----------------------------------------------------------------------------------------------


@dataclass
class BaseImage:
    """An image a ``FROM`` builds on (its ONBUILD triggers run in the build: the builder checks them too)."""

    line: int
    image: str
    platform: str = ""


@dataclass
class _Walk:
    policy: ImagePolicy
    escape: str = "\\"
    stages: list[str] = field(default_factory=list)  # names of the completed stages, lower case
    bases: list[BaseImage] = field(default_factory=list)

    def refuse(self, line: int, image: str, reason: str) -> PyrunError:
        return PyrunError("runtime:user:docker-from-refused", line=line, image=image, reason=reason)

    def check_image(self, line: int, image: str, *, via: str = "") -> None:
        reason = self.policy.refusal(image)
        if reason:
            raise self.refuse(line, image, f"{via}{reason}")

    def check_sources(self, ins: Instruction, *, via: str = "") -> None:
        """COPY --from=<image>, ADD <url>, and the same inside ONBUILD."""
        if ins.keyword == "onbuild":
            inner = parse_instruction(ins.line, ins.rest)
            self.check_sources(inner, via=via or "in ONBUILD: ")
        elif ins.keyword == "copy":
            for flag in ins.flags:
                name, _, value = flag.partition("=")
                if name != "--from":
                    continue
                if "$" in value:
                    raise self.refuse(ins.line, value, f"{via}COPY --from with a variable cannot be checked")
                if value.isdigit():
                    # Docker reads a number as a stage index, never as an image (an image id made only of
                    # digits included). Out of range is refused here so the error names the line; an ONBUILD
                    # trigger's index counts the stages of a later build, unknown here.
                    if via or int(value) < len(self.stages):
                        continue
                    raise self.refuse(ins.line, value, f"{via}no earlier build stage has the index {value}")
                if value.lower() in self.stages:
                    continue  # an earlier stage, by name
                self.check_image(ins.line, value, via=via)
        elif ins.keyword == "add":
            for source in _add_sources(ins.rest)[:-1]:
                plain = re.sub(r"[\"'`\\]", "", source)
                if "$" in source or "://" in plain:
                    raise PyrunError("runtime:user:docker-add-url-refused", line=ins.line, source=source)


def _add_sources(rest: str) -> list[str]:
    """ADD's arguments, JSON form or shell form (``parseMaybeJSONToList``)."""
    if rest.startswith("["):
        try:
            found = json.loads(rest)
        except ValueError:
            found = None
        if isinstance(found, list) and all(isinstance(item, str) for item in found):
            return found
    return [word for word in _WHITESPACE.split(rest) if word]


def check_dockerfile(text: str, build_args: dict[str, str], policy: ImagePolicy) -> list[BaseImage]:
    """Refuse (``PyrunError``) a Dockerfile naming an image ``policy`` does not allow; returns its base images."""
    escape, parsed = instructions(text)
    walk = _Walk(policy, escape)
    meta: Env = {}  # ARGs before the first FROM: the only variables FROM can use
    seen_from = False
    current = ""
    for ins in parsed:
        if ins.keyword == "arg" and not seen_from:
            for word in _parse_words(ins.rest, escape):
                name, has_default, default = word.partition("=")
                if name in build_args:
                    meta[name] = build_args[name]  # a build arg's value is used as given, not expanded
                elif has_default:
                    try:
                        meta[name] = resolve(default, meta, escape)
                    except Unresolvable:
                        meta[name] = UNKNOWN
                else:
                    meta[name] = None
        elif ins.keyword == "from":
            if seen_from:
                walk.stages.append(current)  # the previous stage is complete: later ones may name it
            seen_from = True
            words = [w for w in _WHITESPACE.split(ins.rest) if w]
            if len(words) == 3 and words[1].lower() == "as" and _STAGE_NAME.fullmatch(words[2].lower()):
                current = words[2].lower()
            elif len(words) == 1:
                current = ""
            else:
                raise walk.refuse(ins.line, ins.rest, "FROM takes an image, optionally followed by AS <name>")
            try:
                image = resolve(words[0], meta, escape)
            except Unresolvable as exc:
                raise walk.refuse(ins.line, words[0], f"its name cannot be resolved before the build ({exc})") from None
            if image.lower() in walk.stages or image == "scratch":
                continue
            walk.check_image(ins.line, image)
            walk.bases.append(BaseImage(ins.line, image, _platform(ins.flags, meta, escape)))
        else:
            walk.check_sources(ins)
    return walk.bases


def _platform(flags: list[str], meta: Env, escape: str) -> str:
    for flag in flags:
        name, _, value = flag.partition("=")
        if name == "--platform":
            try:
                return resolve(value, meta, escape)
            except Unresolvable:
                return ""
    return ""


def check_triggers(triggers: Iterable[str], base: BaseImage, policy: ImagePolicy) -> None:
    """The ONBUILD triggers of a base image run in this build as if they were in the Dockerfile."""
    walk = _Walk(policy)
    for trigger in triggers:
        walk.check_sources(parse_instruction(base.line, trigger), via=f"an ONBUILD trigger of {base.image}: ")
