"""The chapters' widgets run under the executor that `make book` uses (jupyter-book -> jupyter-cache -> nbclient).

Why this test exists: jupyter-book sat idle for the whole 900 s cell timeout after the widget cells of chapters 6
and 7, although nbval ran them in under a minute. The cause: the widgets drew into ``ipywidgets.Output`` by
capturing (``with out: plt.show(); display(Audio(...))``). A captured output is routed by nbclient to its
front-end mimic of the Output widget (``nbclient.output_widget.OutputWidget``), which sends the widget's new state
back to the kernel on the *shell* channel for every output. jupyter_client's ``Session.send`` does that send
through a blocking shadow of the client's asyncio shell socket, so pyzmq's asyncio socket is never told that
libzmq, while sending, consumed the edge-triggered wake-up of the cell's ``execute_reply`` that had just arrived.
nbclient then sleeps in ``shell_channel.get_msg(timeout=<cell timeout>)`` until the timeout, when pyzmq's last
``poll(0)`` finds the reply and execution goes on as if nothing happened. It is a race (the bigger the captured
output, e.g. a 30 s audio player, the likelier), so a timing test alone would pass most of the time; this test
checks its precondition instead, deterministically: no chapter widget may make nbclient register an output
hook, and the widgets' figures and players must still be in the saved widget state (what the book shows).

Book: every chapter with a widget (``book/01_signals.ipynb`` ... ``book/11_semantics.ipynb``).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipywidgets")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 120  # s per cell; each cell below takes seconds

SETUP = """\
%matplotlib inline
import numpy as np, ipywidgets as W
from neuralogram.viz.live import live_figure
"""
# A chapter-like widget with a 20 s audio player, redrawn several times within one cell.
LIVE = """\
box = live_figure({"f": W.FloatSlider(value=440.0, min=100.0, max=1000.0)},
                  lambda f: (0.5 * np.sin(2 * np.pi * f * np.arange(20 * 8000) / 8000)).astype(np.float32),
                  lambda y, fig: fig.subplots().plot(y[:400]), audio=lambda y: (y, 8000), title="test")
for _ in range(3):
    box.update()
box
"""
PITCH = """\
from neuralogram.viz.probe_widgets import pitch_widget
pitch_widget()
"""
# The canary: a capture into an Output widget, which must be seen by the hook counter (so the check can fail).
CAPTURE = """\
out = W.Output()
display(out)
with out:
    print("captured")
"""


class _CountingClient(nbclient.NotebookClient):
    """nbclient as jupyter-book runs it, counting the Output-widget hooks registered while each cell runs."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.hooks: dict[int, int] = {}
        self.seconds: dict[int, float] = {}
        self._cell = -1

    async def async_execute_cell(self, cell, cell_index, *a, **kw):
        self._cell, t0 = cell_index, time.monotonic()
        try:
            return await super().async_execute_cell(cell, cell_index, *a, **kw)
        finally:
            self.seconds[cell_index] = time.monotonic() - t0

    def register_output_hook(self, msg_id, hook):
        self.hooks[self._cell] = self.hooks.get(self._cell, 0) + 1
        super().register_output_hook(msg_id, hook)


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (SETUP, LIVE, PITCH, CAPTURE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = _CountingClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                             resources={"metadata": {"path": str(ROOT / "book")}})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("MPLBACKEND", None)  # tests/conftest.py sets Agg, which would stop the inline backend
    client.execute(env=env)  # raises CellTimeoutError if a cell waits out the timeout
    return nb, client


def _output_states(nb):
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [s["state"].get("outputs", []) for s in state.values() if s["model_name"] == "OutputModel"]


def test_widgets_register_no_output_hook(executed):
    nb, client = executed
    for cell in (1, 2):
        assert client.hooks.get(cell, 0) == 0, (
            f"cell {cell} captured output into an ipywidgets.Output ('with out:'), which makes nbclient send to "
            "the kernel on the shell channel while it waits for the execute_reply: jupyter-book can then wait the "
            "whole cell timeout. Set Output.outputs from the kernel instead (see neuralogram.viz.live).")
    assert client.hooks.get(3, 0) >= 1, "the canary capture was not seen: this test could not fail"


def test_widget_cells_finish_well_inside_the_timeout(executed):
    _, client = executed
    for cell in (1, 2):
        assert client.seconds[cell] < CELL_TIMEOUT / 2, client.seconds


def test_static_widget_state_has_figures_and_players(executed):
    nb, _ = executed
    outputs = [o for outs in _output_states(nb) for o in outs]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    players = [o for o in outputs if "<audio" in o.get("data", {}).get("text/html", "")]
    assert len(pngs) >= 2 and len(players) >= 2, [sorted(o.get("data", {})) for o in outputs]
    # the widget cells' own outputs are the widget views, not stray figures drawn next to them
    for i in (1, 2):
        kinds = [sorted(o.get("data", {})) for o in nb.cells[i].outputs]
        assert all("application/vnd.jupyter.widget-view+json" in k for k in kinds), kinds
