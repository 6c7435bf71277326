"""Draw the book's network, its forward pass and its gradient flow, in two layouts.

    .venv/bin/python tools/draw_network_figure.py

figures/network.png runs left to right: Fig. 1 of the landing page (intro.md), on a desktop and
in the PDF. _static/network-narrow.png runs top to bottom, for a phone: _static/code.css shows
it in place of the wide one below 600 px, where the wide one would be too small to read. The
output is deterministic (fixed size, dpi and fonts, no timestamp in the PNG), so re-running it
leaves the committed files unchanged. Symbols follow notation.md.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WIDE, NARROW = ROOT / "figures" / "network.png", ROOT / "_static" / "network-narrow.png"

# (label, colour) of each stage, left to right
STAGES = [
    ("$X$", "#e8e8e8"),
    ("Dense$_1$", "#cfe2f3"),
    ("ReLU", "#d9ead3"),
    ("Dense$_2$", "#cfe2f3"),
    ("ReLU", "#d9ead3"),
    ("Dense$_3$", "#cfe2f3"),
    ("Softmax", "#fff2cc"),
    ("Loss $L$", "#f4cccc"),
]
# what flows forward out of stage i into stage i + 1, and the gradient that flows back
FORWARD = [None, "$Z_1$", "$A_1$", "$Z_2$", "$A_2$", "$Z_3$", r"$\hat{Y}$"]
BACKWARD = [None,
            r"$\frac{\partial L}{\partial Z_1}$", r"$\frac{\partial L}{\partial A_1}$",
            r"$\frac{\partial L}{\partial Z_2}$", r"$\frac{\partial L}{\partial A_2}$",
            r"$\frac{\partial L}{\partial Z_3}$", r"$\frac{\partial L}{\partial \hat{Y}}$"]
FORWARD_COLOUR = "#1f4e79"
BACKWARD_COLOUR = "#b45f06"
PARAM_COLOUR = "#7f6000"

def arrow(ax, start, end, colour, **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=16,
                                 linewidth=2.0, color=colour, shrinkA=0, shrinkB=0, **kw))


def draw(vertical: bool) -> plt.Figure:
    """The stages in a row (forward values above, gradients below) or, ``vertical``, in a
    column (forward values on the left going down, gradients on the right going up)."""
    plt.rcParams.update({"font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans",
                         "svg.hashsalt": "dlfs"})
    # box size and spacing along the chain; `place(along, across)` gives a point's (x, y)
    box_along, box_across, step = (0.6, 2.2, 1.35) if vertical else (1.3, 0.8, 2.1)
    n = len(STAGES)
    if vertical:
        fig, ax = plt.subplots(figsize=(5.4, 10.0), dpi=150)
        ax.set_xlim(-1.9, 3.6)
        ax.set_ylim(-step * (n - 1) - 0.9, 1.0)
        place = lambda along, across: (-across, -along)  # noqa: E731
        box_w, box_h = box_across, box_along
    else:
        fig, ax = plt.subplots(figsize=(11, 3.0), dpi=150)
        ax.set_xlim(-0.8, step * (n - 1) + 0.8)
        ax.set_ylim(-1.6, 1.15)
        place = lambda along, across: (along, across)  # noqa: E731
        box_w, box_h = box_along, box_across
    ax.set_aspect("equal")
    ax.axis("off")

    centres = [step * i for i in range(n)]
    for c, (label, colour) in zip(centres, STAGES):
        x, y = place(c, 0)
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=colour, edgecolor="#444444", linewidth=1.2))
        ax.text(x, y, label, ha="center", va="center", fontsize=15)

    # forward on the positive side of the chain (above, or left), backward on the other
    offset, label_offset = (0.35, 0.45) if vertical else (0.22, 0.3)
    forward_align = dict(ha="right", va="center") if vertical else dict(ha="center", va="bottom")
    backward_align = dict(ha="left", va="center") if vertical else dict(ha="center", va="top")
    gap = box_along / 2 + 0.04
    for i, (fwd, bwd) in enumerate(zip(FORWARD, BACKWARD)):
        a0, a1 = centres[i] + gap, centres[i + 1] - gap
        mid = (a0 + a1) / 2
        arrow(ax, place(a0, offset), place(a1, offset), FORWARD_COLOUR)
        if fwd is not None:
            ax.text(*place(mid, label_offset), fwd, fontsize=16, color=FORWARD_COLOUR,
                    **forward_align)
        if bwd is not None:
            arrow(ax, place(a1, -offset), place(a0, -offset), BACKWARD_COLOUR)
            ax.text(*place(mid, -label_offset), bwd, fontsize=19, color=BACKWARD_COLOUR,
                    **backward_align)

    # each dense layer turns the gradient it receives into the gradients of its parameters,
    # drawn out of the layer's backward side
    edge, reach = box_across / 2 + 0.04, (1.75 if vertical else 0.95)
    for k, i in enumerate((1, 3, 5), start=1):
        arrow(ax, place(centres[i], -edge), place(centres[i], -reach), PARAM_COLOUR)
        ax.text(*place(centres[i], -reach - 0.03),
                rf"$\frac{{\partial L}}{{\partial W_{k}}},\ "
                rf"\frac{{\partial L}}{{\partial \mathbf{{b}}_{k}}}$",
                fontsize=17, color=PARAM_COLOUR,
                **(dict(ha="left", va="center") if vertical else dict(ha="center", va="top")))

    forward_title, backward_title = "forward: values", "backward: gradients of the loss"
    if vertical:
        ax.text(-1.85, 0.75, forward_title + " (down)", ha="left", va="center",
                fontsize=14, color=FORWARD_COLOUR, fontweight="bold")
        ax.text(-1.85, -step * (n - 1) - 0.7, backward_title + " (up)", ha="left",
                va="center", fontsize=14, color=BACKWARD_COLOUR, fontweight="bold")
    else:
        ax.text(centres[0] - 0.75, 1.0, forward_title, ha="left", va="center",
                fontsize=14, color=FORWARD_COLOUR, fontweight="bold")
        ax.text(centres[-1] + 0.75, 1.0, backward_title, ha="right", va="center",
                fontsize=14, color=BACKWARD_COLOUR, fontweight="bold")
    fig.tight_layout(pad=0.2)
    return fig


def main() -> None:
    for path, vertical in ((WIDE, False), (NARROW, True)):
        path.parent.mkdir(parents=True, exist_ok=True)
        fig = draw(vertical)
        # no Software/creation-time chunks: the same code gives the same bytes
        fig.savefig(path, dpi=150, metadata={"Software": None}, facecolor="white",
                    bbox_inches="tight", pad_inches=0.1)
        plt.close(fig)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
