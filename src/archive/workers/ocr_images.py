"""The page images OCRmyPDF hands to Tesseract, written as quickly as Tesseract can read them.

OCRmyPDF renders each page with PDFium and saves the pixels as a PNG that Tesseract then
decodes. At zlib level 6 the saving took 0.11 s of CPU a page at 300 dpi, and Tesseract's
decoding some more: together about a tenth of what Tesseract takes to read the page
(bench/ocr.py). The images are temporary and the pixels are what matters, so:

- where OCRmyPDF keeps the page as it was (``lossless_reconstruction``: no forced OCR,
  deskewing or cleaning) and the image is only read by Tesseract, it is written as an
  uncompressed TIFF (the same pixels and resolution; Leptonica and Pillow know a file by
  its content, not its name), which costs a copy to write and nothing to decode;
- where the image also becomes the page of the copy (forced OCR), it stays a PNG, saved at
  zlib level 1 (0.07 s, same pixels, a file some sixth larger);
- a grey page (a scan's usual kind) is rendered by PDFium straight into a grey bitmap rather
  than with its grayscale flag, which converts every colour as it draws: 29 ms instead of
  117 ms for an A4 page at 300 dpi, and the same pixels, vector colours included (tests).

Passing the JPEG of a scanned page straight to Tesseract was tried and dropped: PDFium's
rendering resamples the image by a pixel, and Tesseract read names in the tests' scans
from it that it misread from the JPEG's own pixels.
"""
from __future__ import annotations

import threading

from ocrmypdf import hookimpl

_page = threading.local()       # .for_tesseract: the page being rendered is read, not shown


@hookimpl
def rasterize_pdf_page(input_file, output_file, raster_device, raster_dpi, pageno, page_dpi,
                       rotation, filter_vector, stop_on_soft_error, options, use_cropbox):
    """OCRmyPDF's own PDFium rendering, the image saved for Tesseract alone when only
    Tesseract reads it; ``None`` (OCRmyPDF's choice) for anything else, its PNGs saved
    quickly too (``quick_page_images``, patched here, in whichever process renders)."""
    quick_page_images()
    if options is None or not options.lossless_reconstruction or options.rasterizer != "pypdfium":
        return None
    from ocrmypdf.builtin_plugins import pypdfium
    _page.for_tesseract = True
    try:
        return pypdfium.rasterize_pdf_page(
            input_file=input_file, output_file=output_file, raster_device=raster_device,
            raster_dpi=raster_dpi, pageno=pageno, page_dpi=page_dpi, rotation=rotation,
            filter_vector=filter_vector, stop_on_soft_error=stop_on_soft_error,
            options=options, use_cropbox=use_cropbox)
    finally:
        _page.for_tesseract = False


def quick_page_images():
    """OCRmyPDF's PDFium plugin made to render grey pages and save its PNGs quickly (the
    module's docstring says how); done once per process."""
    from ocrmypdf.builtin_plugins import pypdfium
    if getattr(pypdfium._save_image, "quick", False):
        return
    save, render = pypdfium._save_image, pypdfium._render_page_to_bitmap

    def _render_page_to_bitmap(page, *args, **kw):
        return render(_GreyBitmap(page), *args, **kw)
    pypdfium._render_page_to_bitmap = _render_page_to_bitmap

    def _save_image(pil_image, output_file, format_name):
        if format_name != "PNG":
            return save(pil_image, output_file, format_name)
        extra = {"dpi": pil_image.info["dpi"]} if "dpi" in pil_image.info else {}
        if getattr(_page, "for_tesseract", False):
            pil_image.save(output_file, format="TIFF", compression="raw", **extra)
        else:
            pil_image.save(output_file, format="PNG", compress_level=1, **extra)
    _save_image.quick = True
    pypdfium._save_image = _save_image


class _GreyBitmap:
    """A PDFium page whose grey rendering is drawn into a grey bitmap (``FPDFBitmap_Gray``)
    instead of under PDFium's grayscale flag: the same pixels four times as fast. Everything
    else is the page's own."""

    def __init__(self, page):
        self._page = page

    def __getattr__(self, name):
        return getattr(self._page, name)

    def render(self, grayscale=False, **kw):
        if grayscale and kw.get("force_bitmap_format") is None:
            import pypdfium2.raw as pdfium_c
            kw["force_bitmap_format"] = pdfium_c.FPDFBitmap_Gray
        return self._page.render(**kw)
