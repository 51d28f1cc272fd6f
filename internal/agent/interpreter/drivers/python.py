"""The Python engine of SoulBox's code interpreter.

The agent runs this as `python3 -c <source>`, one process per context, and
is the transport itself: IPython's InteractiveShell runs in this process
(the engine ipykernel wraps), with no ZMQ kernel in between.

File descriptors, all set up by the agent:
  0  /dev/null
  1  stdout, 2 stderr: passed on to the client as they are written
  3  requests, one JSON object a line: {"id", "code", "env", "setenv"}
  4  events, one JSON object a line: "ready" once, then for each request
     its "result"s, at most one "error", and one "done"

Each event follows an ordering marker written to both stdout and stderr
(see emit), so that the agent can deliver it after the output written
before it.
"""

import base64
import json
import math
import os
import re
import signal
import sys
import threading
import warnings

# An interrupt aimed at a cell may arrive while we start up; it must not
# kill us. The driver's own handler replaces this once the shell exists.
signal.signal(signal.SIGINT, signal.SIG_IGN)

from IPython.core.displayhook import DisplayHook  # noqa: E402
from IPython.core.displaypub import DisplayPublisher  # noqa: E402
from IPython.core.error import UsageError  # noqa: E402
from IPython.core.formatters import BaseFormatter  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from traitlets import Type, Unicode  # noqa: E402
from traitlets.config import Config  # noqa: E402

MARK = b"\x1e\x1fsoulbox-mark:%d\x1f\x1e"

# Our own mime type: the chart formatter's output, the result's "chart".
CHART_MIME = "application/vnd.soulbox.chart+json"

# Result fields by mime type; other types go into "extra".
FIELDS = {
    "text/plain": "text", "text/html": "html", "text/markdown": "markdown",
    "text/latex": "latex", "image/png": "png", "image/jpeg": "jpeg",
    "image/svg+xml": "svg", "application/pdf": "pdf", "application/json": "json",
    "application/javascript": "javascript", CHART_MIME: "chart",
}

# The agent gives up on a driver that writes an event line over 64 MiB;
# a result that big is dropped instead.
MAX_EVENT = 60 << 20

# How E2B finds a unit in an axis label: "Temperature (°C)", "Speed [m/s]".
UNIT = re.compile(r"\s\((.*?)\)|\[(.*?)\]")


class Driver:
    """Runs requests in the shell and reports what they produce."""

    def __init__(self, events):
        self.events = events
        self.shell = None
        self.marks = 0  # the last ordering marker written
        self.request = None  # the id of the running request
        # An interrupt raises KeyboardInterrupt only in the user's code (see
        # Shell.run_code), and not while an event is half written. Landing
        # in IPython's own code, where it could leave a lock held, it is put
        # off until the user's code runs next, or dropped if the cell ends
        # first.
        self.interruptible = False
        self.emitting = False
        self.interrupted = False  # an interrupt was put off
        self.errored = False  # the running request has had its error event

    def on_sigint(self, signum, frame):
        if self.request is None:
            return  # between cells: nothing to interrupt
        if self.interruptible and not self.emitting:
            raise KeyboardInterrupt
        self.interrupted = True

    def deliver_interrupt(self):
        """Raises the interrupt put off, if any."""
        if self.interrupted:
            self.interrupted = False
            raise KeyboardInterrupt

    def serve(self, requests):
        for line in requests:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if (
                isinstance(request, dict)
                and isinstance(request.get("id"), int)
                and isinstance(request.get("code"), str)
            ):
                self.execute(request)

    def execute(self, request):
        self.errored, self.interrupted = False, False
        self.request = request["id"]
        setenv = request.get("setenv")
        if isinstance(setenv, dict):
            # Variables /init set after this context started: for good.
            os.environ.update({k: v for k, v in setenv.items() if isinstance(v, str)})
            if not request["code"]:
                self.emit({"type": "done", "execution_count": self.shell.execution_count - 1})
                self.request = None
                return
        saved = set_env(request.get("env") or {})
        count = self.shell.execution_count
        try:
            self.shell.run_cell(request["code"], store_history=True)
        except BaseException:
            # IPython reports what a cell raises; this got past it, say a
            # SystemExit from a user's event callback.
            self.shell.showtraceback()
        finally:
            # Even if an interrupt cut short Shell.run_code's own cleanup.
            self.interruptible = False
            restore_env(saved)
        # Every request gets a number of its own, even an empty cell or one
        # interrupted before IPython counted it.
        if self.shell.execution_count == count:
            self.shell.execution_count += 1
        # Inputs queued for the history database we disabled: nothing else
        # would ever empty the queue.
        self.shell.history_manager.db_input_cache.clear()
        self.emit({"type": "done", "execution_count": count})
        self.request = None

    def result(self, data, main):
        event = {"type": "result", "is_main_result": main}
        for mime, value in data.items():
            field = FIELDS.get(mime)
            if field:
                event[field] = value
            else:
                event.setdefault("extra", {})[mime] = value
        self.emit(event)

    def error(self, etype, evalue, stb):
        traceback = "\n".join(stb)
        if self.errored or self.request is None:
            # A request has one error event; any later one (say, from a
            # post-execute hook) is still worth showing, as output.
            print(traceback, file=sys.stderr)
            return
        self.errored = True
        try:
            value = str(evalue)
        except Exception:
            value = "<unprintable %s object>" % etype.__name__
        self.emit({"type": "error", "name": etype.__name__, "value": value, "traceback": traceback})

    def emit(self, event):
        """Writes an event of the running request, after a marker that
        follows the output written so far."""
        if self.request is None:
            return  # a display from a thread that outlived its cell
        mark = self.marks = self.marks + 1
        event.update(id=self.request, mark=mark)
        # Only the main thread is interrupted, so only its writes need
        # shielding (and threads must not lift its shield).
        shield = threading.current_thread() is threading.main_thread()
        if shield:
            self.emitting = True
        try:
            line = encode(event)
            if line is not None:
                if not write_marker(mark):
                    event["mark"] = 0  # the agent must not wait for it
                    line = encode(event)
                self.send(line)
        finally:
            if shield:
                self.emitting = False
        if shield and self.interruptible:
            self.deliver_interrupt()

    def send(self, line):
        try:
            self.events.write(line.encode() + b"\n")
            self.events.flush()
        except OSError:
            os._exit(1)  # the agent is gone; nobody is left to serve


def encode(event):
    """The event as a JSON line, or None (with a note on stderr) if it
    cannot be sent."""
    try:
        try:
            line = json.dumps(event, allow_nan=False, default=plain)
        except ValueError:  # NaN and infinities are not JSON
            line = json.dumps(finite(event), default=plain)
        if len(line) > MAX_EVENT and event.pop("chart", None) is not None:
            line = json.dumps(finite(event), default=plain)
    except Exception as e:
        print("soulbox: cannot send a %s: %s" % (event["type"], e), file=sys.stderr)
        return None
    if len(line) > MAX_EVENT:
        print("soulbox: a %s of %d bytes is too large to send" % (event["type"], len(line)), file=sys.stderr)
        return None
    return line


def plain(value):
    if isinstance(value, (bytes, bytearray)):  # images, PDFs
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    return str(value)


def finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def write_marker(mark):
    """Writes the marker to stdout and stderr after what is buffered; False
    if user code has closed them."""
    # sys.__stdout__ too: the user may have swapped in their own sys.stdout.
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    marker = MARK % mark
    try:
        os.write(1, marker)
        os.write(2, marker)
    except OSError:
        return False
    return True


def set_env(env):
    """Sets the request's variables; returns what to restore afterwards."""
    saved = {}
    for key, value in env.items():
        try:
            saved[key] = os.environ.get(key)
            os.environ[key] = value
        except (TypeError, ValueError) as e:
            print("soulbox: cannot set environment variable %r: %s" % (key, e), file=sys.stderr)
    return saved


def restore_env(saved):
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class Hook(DisplayHook):
    """Makes the value of a cell's last expression its main result, rather
    than printing Out[n]."""

    def start_displayhook(self):
        pass

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        self.shell.driver.result(format_dict, main=True)

    def finish_displayhook(self):
        pass


class Publisher(DisplayPublisher):
    """Makes display(...) and figures results."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        # E2B has no way to update an earlier output in place.
        if not update:
            self.shell.driver.result(data, main=False)

    def clear_output(self, wait=False):
        pass  # nor to take one back


class ChartFormatter(BaseFormatter):
    """Adds E2B's description of a figure's data to its results."""

    format_type = Unicode(CHART_MIME)

    # Not a printer registered for Figure: enabling the inline backend
    # removes those from every formatter.
    def __call__(self, obj):
        figure = sys.modules.get("matplotlib.figure")
        return figure_chart(obj) if figure and isinstance(obj, figure.Figure) else None


class Shell(InteractiveShell):
    """IPython's shell with the driver for a frontend, as ipykernel's
    ZMQInteractiveShell has ZeroMQ."""

    displayhook_class = Type(Hook)
    display_pub_class = Type(Publisher)
    # `!cmd` writes straight to our stdout and stderr, in order with the
    # rest, instead of through a pty as system_piped would.
    system = InteractiveShell.system_raw

    async def run_code(self, code_obj, result=None, *, async_=False):
        driver = self.driver
        outer = driver.interruptible  # run_cell can nest
        try:
            driver.interruptible = True
            driver.deliver_interrupt()  # one that came while IPython prepared this
            return await super().run_code(code_obj, result, async_=async_)
        finally:
            driver.interruptible = outer

    def showtraceback(self, *args, **kwargs):
        # Formatting takes a while: a second interrupt must not cut it short
        # and lose the error.
        driver = self.driver
        outer, driver.interruptible = driver.interruptible, False
        try:
            super().showtraceback(*args, **kwargs)
        finally:
            driver.interruptible = outer

    def _get_exc_info(self, exc_tuple=None):
        etype, value, tb = super()._get_exc_info(exc_tuple)
        if etype is KeyboardInterrupt:
            # The driver's frames that raised it are no part of the user's
            # story, nor is a spot with no line number (say, code interrupted
            # before its first line), which IPython fails to format.
            last, entry = None, tb
            while entry is not None:
                if entry.tb_frame.f_globals is not globals() and (entry.tb_lineno or 0) > 0:
                    last = entry
                entry = entry.tb_next
            if last is not None:
                last.tb_next = None
        return etype, value, tb

    def _showtraceback(self, etype, evalue, stb):
        self.driver.error(etype, evalue, stb)

    def enable_gui(self, gui=None):
        # Inline figures need no event loop, and there is no display for
        # any other kind.
        if gui not in (None, "inline"):
            raise UsageError("no GUI here: use %matplotlib inline")

    def ask_exit(self):
        # exit() stops the cell as it would a script, but a context outlives
        # its cells.
        raise SystemExit


def figure_chart(figure):
    """E2B's description of a matplotlib figure's data, or None."""
    try:
        axes = figure.get_axes()
        if len(axes) == 1:
            return axes_chart(axes[0])
        if axes:
            suptitle = getattr(figure, "_suptitle", None)
            return {
                "type": "superchart",
                "title": suptitle.get_text() if suptitle else "",
                "elements": [axes_chart(ax) for ax in axes],
            }
    except Exception:
        pass  # a chart is a bonus: the figure's result goes out regardless
    return None


def axes_chart(ax):
    from matplotlib.collections import PathCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle, Wedge

    lines = [line for line in ax.get_lines() if not is_grid_line(line)]
    artists = [*lines, *ax.collections, *ax.patches, *ax.images, *ax.tables, *ax.artists]

    def made_of(kind):
        return all(isinstance(artist, kind) for artist in artists)

    if made_of(Line2D):
        elements = [points(line, line.get_xdata(), line.get_ydata()) for line in lines]
        return planar_chart(ax, "line", elements)
    if made_of(PathCollection):
        return planar_chart(ax, "scatter", [points(c, *c.get_offsets().T) for c in ax.collections])
    if made_of(Wedge):
        elements = [
            # Wedges keep their angles in single precision: 108.00000429.
            {"label": legend_label(w), "angle": float("%.8g" % abs(w.theta2 - w.theta1)), "radius": value(w.r)}
            for w in ax.patches
        ]
        return {"type": "pie", "title": ax.get_title(), "elements": elements}
    if made_of(Rectangle):
        return bar_chart(ax)
    return {"type": "unknown", "title": ax.get_title(), "elements": []}


def is_grid_line(line):
    """Whether a line is a horizontal or vertical rule (axhline and such)
    rather than data."""
    xs, ys = line.get_xdata(), line.get_ydata()
    return len(xs) == 2 and len(ys) == 2 and (xs[0] == xs[1] or ys[0] == ys[1])


def planar_chart(ax, kind, elements):
    chart = {"type": kind, **labels(ax)}
    for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        # get_converter() is the newer matplotlib's spelling.
        converter = axis.get_converter() if hasattr(axis, "get_converter") else axis.converter
        ticks = axis.get_ticklocs()
        # The name covers matplotlib's own date converters and pandas'.
        if "Date" in type(converter).__name__:
            from matplotlib.dates import num2date

            scale, ticks = "datetime", [num2date(t).isoformat() for t in ticks]
        elif type(converter).__name__ == "StrCategoryConverter":
            scale = "categorical"
        else:
            scale = axis.get_scale()
        chart[name + "_ticks"] = [value(t) for t in ticks]
        chart[name + "_tick_labels"] = [label.get_text() for label in axis.get_ticklabels()]
        chart[name + "_scale"] = scale
    chart["elements"] = elements
    return chart


def bar_chart(ax):
    from matplotlib.category import StrCategoryLocator
    from matplotlib.container import BarContainer
    from matplotlib.ticker import FixedLocator

    containers = [c for c in ax.containers if isinstance(c, BarContainer)] or [ax.patches]
    horizontal = getattr(containers[0], "orientation", None) == "horizontal"
    axis = ax.yaxis if horizontal else ax.xaxis
    # Bars on chosen ticks (categories, or plt.xticks(x, names)) take the
    # label of the nearest one: grouped bars stand beside theirs. Others, a
    # histogram's say, are named by where they stand.
    named = isinstance(axis.get_major_locator(), (FixedLocator, StrCategoryLocator))
    ticks = list(zip(axis.get_ticklocs(), (label.get_text() for label in axis.get_ticklabels())))
    elements = []
    for container in containers:
        group = legend_label(container) if isinstance(container, BarContainer) else ""
        for bar in container:
            if horizontal:
                centre, size = bar.get_y() + bar.get_height() / 2, bar.get_width()
            else:
                centre, size = bar.get_x() + bar.get_width() / 2, bar.get_height()
            if named and ticks:
                label = min(ticks, key=lambda tick: abs(tick[0] - centre))[1]
            else:
                label = "%.10g" % round(centre, 9)
            elements.append({"label": label, "value": value(size), "group": group})
    return {"type": "bar", **labels(ax, swap=horizontal), "elements": elements}


def labels(ax, swap=False):
    """The title, axis labels and their units; swapped for horizontal bars,
    whose categories are on the y axis."""
    x, y = ax.get_xlabel(), ax.get_ylabel()
    if swap:
        x, y = y, x
    return {"title": ax.get_title(), "x_label": x, "y_label": y, "x_unit": unit(x), "y_unit": unit(y)}


def unit(label):
    match = UNIT.search(label)
    return (match.group(1) or match.group(2) or None) if match else None


def legend_label(artist):
    label = str(artist.get_label() or "")
    return "" if label.startswith("_") else label  # "_child0", "_nolegend_"


def points(artist, xs, ys):
    return {"label": legend_label(artist), "points": [[value(x), value(y)] for x, y in zip(xs, ys)]}


def value(v):
    """A data value as JSON has it: a float or a string (dates in ISO
    form), None for NaN."""
    if isinstance(v, str):
        return v
    if hasattr(v, "isoformat"):  # datetime, date, pandas' Timestamp
        return v.isoformat()
    if type(v).__name__ == "datetime64":
        return str(v.astype("datetime64[s]"))
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return v if math.isfinite(v) else None


def make_shell(driver):
    config = Config()
    config.HistoryManager.enabled = False  # no history database on disk
    config.InteractiveShell.colors = "NoColor"  # tracebacks without ANSI escapes
    Shell.driver = driver  # set before the shell exists, which may need it
    # instance(), not Shell(): matplotlib_inline finds the shell through it.
    shell = Shell.instance(config=config)
    # Formatters run in order, so this one comes after the PNG has been
    # drawn: tick labels exist only once a figure has been.
    shell.display_formatter.formatters[CHART_MIME] = ChartFormatter(parent=shell.display_formatter)
    return shell


def main():
    requests = os.fdopen(3, "r", encoding="utf-8", errors="replace")
    events = os.fdopen(4, "wb")
    # Not for the user's subprocesses: they could keep the pipes open.
    os.set_inheritable(3, False)
    os.set_inheritable(4, False)
    # Output goes out line by line, as it would to a terminal.
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace", line_buffering=True)
    # As ipykernel does: the first use of pyplot loads the inline backend,
    # which hooks itself into the shell (plt.show() and figures left open
    # become PNG results), without paying for matplotlib before it is used.
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    # The advice IPython adds to a SystemExit does not hold here.
    warnings.filterwarnings("ignore", message="To exit: use 'exit'")

    driver = Driver(events)
    driver.shell = make_shell(driver)
    if os.environ.pop("SOULBOX_INTERPRETER_PREWARM", "") == "1":
        try:
            import numpy  # noqa: F401
            import pandas  # noqa: F401
            import matplotlib.pyplot  # noqa: F401

            driver.shell.enable_matplotlib("inline")
        except Exception:
            pass  # the first cell to use them pays instead, or sees what fails
    signal.signal(signal.SIGINT, driver.on_sigint)
    driver.send(json.dumps({"type": "ready"}))
    driver.serve(requests)
    # User threads and atexit handlers must not keep a closed context alive.
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


main()
