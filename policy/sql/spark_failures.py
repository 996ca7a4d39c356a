"""Spark's failures as one line that says what to do (``funnel eval --engine spark``).

Spark runs in a JVM that PySpark drives through Py4J, so what goes wrong there reaches
Python as a Java error with its stack trace (``Py4JJavaError``), as PySpark's own
exceptions, or as a lost connection when the JVM itself ended (out of memory in local
mode ends the JVM). :func:`failure_message` turns each into the one line the command
prints; :func:`driver_memory` is the documented way to give the driver more heap
(``FUNNEL_SPARK_DRIVER_MEMORY``, see docs/warehouse.md).
"""

from __future__ import annotations

import atexit
import os
import re
from typing import IO

__all__ = ["DEFAULT_DRIVER_MEMORY", "MEMORY_SETTING", "SparkFailed", "driver_memory",
           "failure_message", "jvm_error_output", "remember_jvm_errors"]

#: The environment variable that sets the driver's heap of a session the engine starts
MEMORY_SETTING = "FUNNEL_SPARK_DRIVER_MEMORY"

#: The driver's heap in local mode when the variable is not set
DEFAULT_DRIVER_MEMORY = "2g"

_SIZE = re.compile(r"[1-9][0-9]*[kKmMgGtT]?")

#: what the JVM wrote to its standard error while it ran (a file with no name: the
#: engine's start sets it, see policy.sql.spark._quiet_jvm)
_jvm_err: list[IO[bytes]] = []


class SparkFailed(Exception):
    """Spark could not start or run the statement; the message is the one line to show."""


def driver_memory() -> str:
    """The driver's heap for a session the engine starts: ``FUNNEL_SPARK_DRIVER_MEMORY``
    (a JVM size such as ``4g`` or ``6144m``), else 2g."""
    value = os.environ.get(MEMORY_SETTING, "").strip()
    if not value:
        return DEFAULT_DRIVER_MEMORY
    if not _SIZE.fullmatch(value):
        raise SparkFailed(f"{MEMORY_SETTING}={value!r} is not a memory size: give a "
                          "number with k, m, g or t, such as 4g")
    return value


def _raise_memory() -> str:
    now = os.environ.get(MEMORY_SETTING, "").strip() or DEFAULT_DRIVER_MEMORY
    return (f"raise the driver's memory with {MEMORY_SETTING} (now {now}; e.g. "
            f"{MEMORY_SETTING}=6g), or decide with --engine duckdb")


def remember_jvm_errors(file: IO[bytes]) -> None:
    """Keep ``file`` (the JVM's standard error) to read when the JVM fails; the file
    kept before is closed (the JVM holds its own descriptor), and the last one when
    Python exits, so none is left for the garbage collector (a ResourceWarning)."""
    _forget_jvm_errors()
    _jvm_err.append(file)


def _forget_jvm_errors() -> None:
    for file in _jvm_err:
        file.close()
    _jvm_err.clear()


atexit.register(_forget_jvm_errors)


def jvm_error_output(limit: int = 65536) -> str:
    """The end of what the JVM wrote to its standard error ('' when nothing)."""
    if not _jvm_err:
        return ""
    file = _jvm_err[0]
    try:
        file.flush()
        size = os.fstat(file.fileno()).st_size
        os.lseek(file.fileno(), max(0, size - limit), os.SEEK_SET)
        data = os.read(file.fileno(), limit)
    except (OSError, ValueError):
        return ""
    return data.decode("utf-8", "replace")


def _why_not_started(text: str) -> str:
    """The first line of the JVM's or the launcher's words that says something (not a
    WARNING), without the launcher script's path: ``/opt/jdk/bin/java: No such file
    or directory``, ``Invalid maximum heap size: -Xmx2x``."""
    said = [re.sub(r"^\S*spark-class: line \d+: ", "", line.strip())
            for line in text.splitlines() if line.strip()
            and not line.startswith(("WARNING", "Using Spark's", "Setting default"))]
    if not said:
        return ""
    if said[0].startswith("Error occurred during initialization") and len(said) > 1:
        return f"{said[0]}: {said[1]}"[:300]  # the JVM's why is on the next line
    return said[0][:300]


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def failure_message(exc: BaseException) -> str | None:
    """The one line for ``exc`` when it is Spark's (a Java error, PySpark's or Py4J's
    exception, a JVM that did not start or ended), else None."""
    if isinstance(exc, SparkFailed):
        return str(exc)
    kind = type(exc)
    module = kind.__module__ or ""
    if not module.startswith(("py4j", "pyspark")):
        return None
    text = _text(exc)
    condition = getattr(exc, "getCondition", lambda: None)()
    if condition == "JAVA_GATEWAY_EXITED" or "JAVA_GATEWAY_EXITED" in text:
        said = _why_not_started(jvm_error_output())
        if "heap" in said.lower() and os.environ.get(MEMORY_SETTING):
            return (f"Spark's JVM did not start ({said}): check {MEMORY_SETTING}="
                    f"{os.environ[MEMORY_SETTING]} (a heap such as 4g)")
        java = os.environ.get("JAVA_HOME")
        where = f"JAVA_HOME={java}" if java else "java on PATH"
        return ("Spark's JVM did not start" + (f" ({said})" if said else "")
                + f": Spark needs Java 17 ({where}); install it, or set JAVA_HOME to a "
                "Java 17 installation")
    jvm = text + "\n" + (jvm_error_output() if _lost(exc) else "")
    if "java.lang.OutOfMemoryError" in jvm or "OutOfMemoryError" in jvm:
        return f"Spark ran out of memory (java.lang.OutOfMemoryError): {_raise_memory()}"
    if "java.lang.StackOverflowError" in jvm:
        return ("the policy is too deep for Spark's planner (java.lang.StackOverflowError "
                "in the JVM): decide it with --engine duckdb or the python engine, or "
                "with fewer scores that read other scores")
    if _lost(exc):
        return ("Spark's JVM ended during the run (most often it ran out of memory): "
                + _raise_memory())
    if "Max iterations" in text:
        limit = "Max iterations" + text.split("Max iterations", 1)[1]
        return (f"the policy is too deep for Spark's analyser ({_first_line(limit)}): "
                "decide it with --engine duckdb or the python engine")
    said = _java_line(text)
    return f"Spark failed: {said}" if said else f"Spark failed ({kind.__name__})"


def _text(exc: BaseException) -> str:
    """The exception's words without asking the JVM (it may be gone)."""
    java = getattr(exc, "java_exception", None)
    parts = [str(a) for a in getattr(exc, "args", ()) if isinstance(a, str)]
    if java is not None:
        try:
            parts.append(str(java))
        except Exception:  # noqa: BLE001 - the JVM may have ended
            pass
    try:
        parts.append(str(exc))
    except Exception:  # noqa: BLE001 - Py4JJavaError.__str__ asks the JVM
        pass
    return "\n".join(parts)


def _lost(exc: BaseException) -> bool:
    """Whether the JVM went away (Py4J's connection is lost or refused)."""
    text = _text(exc)
    return (type(exc).__name__ == "Py4JNetworkError"
            or "Answer from Java side is empty" in text
            or "Error while sending or receiving" in text
            or "Error while obtaining a new communication channel" in text)


def _java_line(text: str) -> str:
    """The Java error's first line (``java.lang.X: why``) or the exception's own."""
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"^(java|org\.apache\.spark|scala)\.[\w.$]+(Error|Exception)\b", line):
            return line
    line = _first_line(text)
    return line[:500]
