"""The intake check's ASCII85 decoder (records/pdf.py ``_A85``) gives pypdf's bytes, or
pypdf's error, for every input: well formed, wrapped, without ``<~``, with ``z`` groups
and short last groups, and corrupted (a byte outside the alphabet, a stray ``~``, an
overflow, whitespace pypdf does not ignore)."""
from __future__ import annotations

import base64
import random

from pypdf.filters import ASCII85Decode

from archive.records.pdf import _A85
from conftest import make_pdf


def _answer(decode, data):
    try:
        return "ok", decode(data)
    except Exception as exc:     # the same kind of error with the same words
        return "error", type(exc).__name__, str(exc)


def _cases(seed=5, count=1500):
    rng = random.Random(seed)
    good = []
    for _ in range(count):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        if rng.random() < 0.2:
            raw += b"\0" * 8                       # a "z" group
        text = base64.a85encode(raw, adobe=True, wrapcol=rng.choice([0, 0, 72]))
        if rng.random() < 0.3:
            text = text.replace(b"<~", b"")
        if rng.random() < 0.2:
            text = rng.choice([b"  \n", b"\x0b", b"\x00"]) + text + rng.choice([b"\r\n", b"\x0b", b" ~>", b""])
        good.append(text)
    bad = []
    for _ in range(count):
        text = bytearray(rng.choice(good))
        if text:
            for _ in range(rng.randrange(1, 3)):
                text[rng.randrange(len(text))] = rng.choice(
                    [rng.randrange(256), *b"u~z y<>", 11])
        bad.append(bytes(text))
    return good + bad + [b"<~s8W-\"~>", b"<~uuuuu~>", b"~>", b"", b"<~!~>"]


def test_the_fast_decoder_answers_as_pypdf_does():
    for data in _cases():
        assert _answer(_A85.decode, data) == _answer(ASCII85Decode.decode, data), data


def test_reportlab_streams_decode_the_same():
    import re
    pdf = make_pdf("公共租赁住房申请表 张三", pages=2)
    streams = [m.group(1) for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S)
               if m.group(1).rstrip().endswith(b"~>")]
    assert streams
    assert all(_A85.decode(s) == ASCII85Decode.decode(s) for s in streams)


def test_zero_groups_between_groups_decode_fast_and_the_same():
    """``z`` stands for four zero bytes between groups (JPEG data is full of them): written
    out, not left to base64's loop; inside a group it is pypdf's error."""
    rng = random.Random(11)
    for _ in range(300):
        raw = b"".join(rng.choice([b"\0\0\0\0", bytes(rng.randrange(256) for _ in range(4))])
                       for _ in range(rng.randrange(1, 40))) + bytes(rng.randrange(256) for _ in range(rng.randrange(4)))
        text = base64.a85encode(raw, adobe=True)
        assert _A85.decode(text) == ASCII85Decode.decode(text) == raw
    assert _A85._zeros(b"!!!!!z!!!!!") == b"!!!!!!!!!!!!!!!"
    assert _A85._zeros(b"!!z!!!") is None
    assert _answer(_A85.decode, b"<~!!z!!!~>") == _answer(ASCII85Decode.decode, b"<~!!z!!!~>")


def test_a_reportlab_jpeg_is_checked_without_pypdf_decoding_it(monkeypatch):
    """An image stored as ASCII85 around DCT (reportlab's JPEGs) is sized from the fast
    decoder; pypdf's stream decoding is not called for it."""
    import io
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    from pypdf.generic import StreamObject
    from archive.records import pdf as records_pdf
    image = Image.frombytes("L", (300, 300), random.Random(3).randbytes(90000))
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG")
    jpeg.seek(0)
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawImage(ImageReader(jpeg), 0, 0, 595, 842)
    c.showPage()
    c.save()
    data = out.getvalue()
    assert b"/ASCII85Decode /DCTDecode" in data
    called = []
    real = StreamObject.get_data
    monkeypatch.setattr(StreamObject, "get_data", lambda self: called.append(self) or real(self))
    facts = records_pdf.inspect(data)
    assert facts.pages == 1 and not [s for s in called if "/DCTDecode" in str(s.get("/Filter"))]


def test_ascii85_around_an_image_codec_is_counted_exactly_without_decoding_it():
    """``_a85_size`` gives the length pypdf's decoding gives, for every well formed stream
    (``z`` groups, short last groups, white space, with and without markers); ``_a85_head``
    the first bytes of the same decoding."""
    from archive.records.pdf import _a85_head, _a85_size, _a85_text
    for data in _cases():
        answer = _answer(ASCII85Decode.decode, data)
        if answer[0] != "ok":
            continue                                        # the well formed ones
        decoded = answer[1]
        text = _a85_text(data)
        assert _a85_size(text) == len(decoded), data
        head = _a85_head(text, chars=40)
        assert decoded.startswith(head) and len(head) >= min(len(decoded), 28) - 4, data


def test_a_jpeg_inside_ascii85_whose_own_header_is_huge_is_refused():
    """The dimensions a JPEG's decoder allocates are read from its first bytes when it is
    wrapped in ASCII85 too (as reportlab writes it), not only when it is stored raw."""
    import pytest
    from archive.records import pdf as records_pdf
    from test_records_pdf_hostile import image_pdf, jpeg_header
    wrapped = base64.a85encode(jpeg_header(60000, 60000), adobe=True)
    data = image_pdf(b"/Width 100 /Height 100 /ColorSpace /DeviceRGB /BitsPerComponent 8"
                     b" /Filter [/ASCII85Decode /DCTDecode]", wrapped)
    with pytest.raises(records_pdf.InvalidDocument) as info:
        records_pdf.inspect(data)
    assert "60000×60000" in str(info.value)
    small = base64.a85encode(jpeg_header(100, 100), adobe=True)
    assert records_pdf.inspect(image_pdf(b"/Width 100 /Height 100 /ColorSpace /DeviceRGB /BitsPerComponent 8"
                                         b" /Filter [/ASCII85Decode /DCTDecode]", small)).pages == 1
