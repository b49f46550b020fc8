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


def _jpeg(width, height, app_bytes=0) -> bytes:
    """A JPEG's start declaring ``width`` × ``height``, its frame header after an APP1
    segment of ``app_bytes`` (EXIF, ICC: what pushes the header past the first KB)."""
    app = b"\xff\xe1" + (app_bytes + 2).to_bytes(2, "big") + bytes(range(256)) * (app_bytes // 256) \
        + b"\x07" * (app_bytes % 256) if app_bytes else b""
    return (b"\xff\xd8" + app + b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
            + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01" + bytes(range(256)) * 40 + b"\xff\xd9")


def _spoil(text, at, how):
    """ASCII85 text with one group spoiled at character ``at``: a character outside the
    alphabet, a ``z`` inside a group, or a group beyond 2**32 - 1."""
    text = bytearray(text)
    at -= at % 5
    if how == "letter":
        text[at + 2] = ord("{")
    elif how == "z":
        text[at + 2] = ord("z")
    elif how == "overflow":
        text[at:at + 5] = b"s8W-\""
    return bytes(text)


def _head_as_before(text, chars=65536) -> bytes:
    """The first bytes of the decoding as ``_a85_head`` gave them before the first-KB path:
    the reference the new path is held to."""
    import re
    head = text[:chars]
    if b"z" in head:
        head = _A85._zeros(head) or b""
    head = head[:len(head) - len(head) % 5]
    if not head or re.search(rb"[^!-u]", head):
        return b""
    return _A85._groups(head, 0) or b""


def test_a_jpeg_header_read_from_the_first_kb_gives_the_same_answer_as_from_64_kb():
    """``_a85_jpeg_size`` decodes the first 4 KB first: its answer is the one the whole
    64 KB head gave (``_jpeg_size(_a85_head(text))``) — the header near the start or 20 KB
    in, not a JPEG, and a bad group before or after the first 4 KB (no answer either way)."""
    from archive.records.pdf import _a85_head, _a85_jpeg_size, _a85_text, _jpeg_size
    seen = set()
    for width, height, app in ((467, 467, 0), (60000, 60000, 0), (800, 600, 20000), (9000, 9000, 3500),
                               (700, 500, 60000)):
        for how in (None, "letter", "z", "overflow"):
            for at in (100, 3000, 8000, 30000, 64000):
                if how is None and at > 100:
                    continue
                text = _a85_text(base64.a85encode(_jpeg(width, height, app), adobe=True))
                if how is not None and at + 5 < len(text):
                    text = _spoil(text, at, how)
                head = _head_as_before(text)
                assert _a85_head(text) == head
                old = _jpeg_size(head, 0) if head[:2] == b"\xff\xd8" else (None, None)
                assert _a85_jpeg_size(text) == old, (width, height, app, how, at)
                seen.add(old)
    assert {(467, 467), (60000, 60000), (800, 600), (9000, 9000), (None, None)} <= seen
    plain = _a85_text(base64.a85encode(bytes(range(256)) * 100, adobe=True))
    assert _a85_jpeg_size(plain) == (None, None)
