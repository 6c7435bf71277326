"""What a notebook printed, cell by cell: for comparing an executed notebook with a stored one."""

import re

# What nbval's sanitizers (tests/sanitize.cfg) replace: memory addresses and wall-clock times.
SANITIZE = [(re.compile(r"0x[0-9a-fA-F]+"), "0xADDRESS"),
            (re.compile(r"\d+(\.\d+)?\s?(ms|s|µs|us)\b"), "TIME")]


def printed(notebook) -> list[str]:
    """Each code cell's printed text: its streams and text/plain results, sanitized as nbval
    sanitizes (images are left out)."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        parts, stream = [], None
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                # a kernel may split one print's text over several stream messages
                parts.append(output.text if output.name == stream
                             else f"[{output.name}] {output.text}")
                stream = output.name
            elif "text/plain" in output.get("data", {}):
                parts.append(f"[text/plain] {output.data['text/plain']}")
                stream = None
            elif output.output_type == "error":
                parts.append(f"[error] {output.ename}: {output.evalue}")
                stream = None
            # other outputs (the stripped glue records, images alone) print nothing
        text = "".join(parts)
        for pattern, replacement in SANITIZE:
            text = pattern.sub(replacement, text)
        cells.append(text)
    return cells
