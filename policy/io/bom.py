"""UTF-8 with an optional byte order mark, for reading lead files as text.

Python's ``utf-8-sig`` drops a file that is only the start of a mark (the byte ``EF``,
or ``EF BB``) at the end of the input, so those bad bytes made no record.
:data:`UTF8_SIG` names a codec that decodes them like any other bytes that are not
UTF-8 (an error record under ``errors="surrogateescape"``) and otherwise reads exactly
as ``utf-8-sig``: one leading mark dropped.
"""

from __future__ import annotations

import codecs

__all__ = ["UTF8_SIG"]


class _SigDecoder(codecs.BufferedIncrementalDecoder):
    """``utf-8-sig``'s decoder, except at the end of the input (see the module)."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self.first = True

    def _buffer_decode(self, data: bytes, errors: str, final: bool) -> tuple[str, int]:
        if self.first:
            if len(data) < 3 and codecs.BOM_UTF8.startswith(data) and not final:
                return "", 0  # wait for the third byte
            self.first = False
            if data[:3] == codecs.BOM_UTF8:
                text, used = codecs.utf_8_decode(data[3:], errors, final)
                return text, used + 3
        return codecs.utf_8_decode(data, errors, final)

    def reset(self) -> None:
        super().reset()
        self.first = True

    def getstate(self) -> tuple[bytes, int]:
        return self.buffer, int(self.first)

    def setstate(self, state: tuple[bytes, int]) -> None:
        self.buffer, self.first = state[0], bool(state[1])


UTF8_SIG = "funnel-utf-8-sig"
UTF8_SIG_INFO = codecs.CodecInfo(
    name=UTF8_SIG, encode=codecs.utf_8_encode,
    decode=lambda data, errors="strict": _SigDecoder(errors).decode(data, final=True),
    incrementalencoder=codecs.getincrementalencoder("utf-8"),
    incrementaldecoder=_SigDecoder)
codecs.register(lambda name: UTF8_SIG_INFO if name == UTF8_SIG.replace("-", "_") else None)
