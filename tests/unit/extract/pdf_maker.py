"""A tiny PDF writer for tests: pages of Helvetica text lines, with a document title."""

from __future__ import annotations


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], title: str = "", author: str = "") -> bytes:
    """Return the bytes of a valid PDF with one text line per entry on each page."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        stream = (
            "BT /F1 11 Tf 72 740 Td 14 TL "
            + " ".join(f"({_escape(line)}) Tj T*" for line in lines)
            + " ET"
        )
        data = stream.encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    info_number = len(objects) + 1
    objects.append(f"<< /Title ({_escape(title)}) /Author ({_escape(author)}) >>".encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_number} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


PAPER_PAGES = [
    [
        "Sparse Routing for Small Language Models",
        "Abstract",
        "We study how sparse expert routing behaves when the total parameter",
        "count is below one billion. Routing collapse is common at this scale.",
        "We propose a balancing loss that keeps every expert in use.",
        "1 Introduction",
        "Mixture-of-experts models activate a few experts per token, so their",
        "serving cost grows slower than their size. Small models rarely use",
        "them because training becomes unstable when experts go idle.",
    ],
    [
        "2 Method",
        "Our balancing loss penalises the variance of expert load within each",
        "batch and is added to the language-modelling objective with weight",
        "0.01. It needs no extra parameters and no change to the router.",
    ],
    ["3 Results", "Appendix pages follow and are not needed for a summary."],
]
