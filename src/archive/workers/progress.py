"""Progress of long jobs on the command line (进度): one bar for every command."""
from __future__ import annotations

import unicodedata


class ProgressBar:
    """``[#####.....] 120/350`` rewritten in place, so a long build shows it is alive.

    Into a log file (not a terminal) it writes a line every 50 dossiers instead.
    """

    def __init__(self, stream, width=30):
        self.stream, self.width = stream, width
        self.live = stream.isatty()

    def __call__(self, done, total):
        if not self.live and done % 50 and done < total:
            return
        filled = self.width * done // max(total, 1)
        bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        if self.live:
            self.stream.write(f"\r{bar}" + ("\n" if done >= total else ""))
        else:
            self.stream.write(bar + "\n")
        self.stream.flush()


def columns(text):
    """Columns a string takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text, width):
    return text + " " * (width - columns(text))
