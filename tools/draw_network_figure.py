"""Draw figures/network.png: the book's network, its forward pass and its gradient flow.

    .venv/bin/python tools/draw_network_figure.py

The landing page (intro.md) shows the result. The output is deterministic (fixed size, dpi and
fonts, no timestamp in the PNG), so re-running it leaves the committed file unchanged.
Symbols follow notation.md.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "figures" / "network.png"

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

BOX_W, BOX_H, STEP = 1.3, 0.8, 2.1


def arrow(ax, start, end, colour, **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=16,
                                 linewidth=2.0, color=colour, shrinkA=0, shrinkB=0, **kw))


def draw() -> plt.Figure:
    plt.rcParams.update({"font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans",
                         "svg.hashsalt": "dlfs"})
    fig, ax = plt.subplots(figsize=(11, 3.0), dpi=150)
    ax.set_xlim(-0.8, STEP * (len(STAGES) - 1) + 0.8)
    ax.set_ylim(-1.6, 1.15)
    ax.set_aspect("equal")
    ax.axis("off")

    centres = [STEP * i for i in range(len(STAGES))]
    for x, (label, colour) in zip(centres, STAGES):
        ax.add_patch(FancyBboxPatch((x - BOX_W / 2, -BOX_H / 2), BOX_W, BOX_H,
                                    boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=colour, edgecolor="#444444", linewidth=1.2))
        ax.text(x, 0, label, ha="center", va="center", fontsize=15)

    gap_left, gap_right = BOX_W / 2 + 0.04, BOX_W / 2 + 0.04
    for i, (fwd, bwd) in enumerate(zip(FORWARD, BACKWARD)):
        x0, x1 = centres[i] + gap_left, centres[i + 1] - gap_right
        mid = (x0 + x1) / 2
        # forward: above the centre line, left to right
        arrow(ax, (x0, 0.22), (x1, 0.22), FORWARD_COLOUR)
        if fwd is not None:
            ax.text(mid, 0.3, fwd, ha="center", va="bottom", fontsize=16, color=FORWARD_COLOUR)
        # backward: below the centre line, right to left
        if bwd is not None:
            arrow(ax, (x1, -0.22), (x0, -0.22), BACKWARD_COLOUR)
            ax.text(mid, -0.3, bwd, ha="center", va="top", fontsize=19, color=BACKWARD_COLOUR)

    # each dense layer turns the gradient it receives into the gradients of its parameters
    for k, i in enumerate((1, 3, 5), start=1):
        x = centres[i]
        arrow(ax, (x, -BOX_H / 2 - 0.04), (x, -0.95), PARAM_COLOUR)
        ax.text(x, -0.98, rf"$\frac{{\partial L}}{{\partial W_{k}}},\ "
                          rf"\frac{{\partial L}}{{\partial \mathbf{{b}}_{k}}}$",
                ha="center", va="top", fontsize=17, color=PARAM_COLOUR)

    ax.text(centres[0] - 0.75, 1.0, "forward: values", ha="left", va="center",
            fontsize=14, color=FORWARD_COLOUR, fontweight="bold")
    ax.text(centres[-1] + 0.75, 1.0, "backward: gradients of the loss", ha="right",
            va="center", fontsize=14, color=BACKWARD_COLOUR, fontweight="bold")
    fig.tight_layout(pad=0.2)
    return fig


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig = draw()
    # no Software/creation-time chunks: the same code gives the same bytes
    fig.savefig(OUT, dpi=150, metadata={"Software": None}, facecolor="white",
                bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")


if __name__ == "__main__":
    main()
