"""What an uploaded file may be and what is kept of it. The type is read from the bytes, never
taken from the client; the file name becomes a harmless label; a profile image is decoded and
encoded afresh, so that no byte a client sent is served as an image."""

import io
import re
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from openbenefits.kit.errors import InvalidRequest

MAX_FILE_NAME = 200
IMAGE_MAX_SIDE = 1200
# Decoding holds every pixel in memory, and a small file can declare a huge image.
MAX_IMAGE_PIXELS = 50_000_000
JPEG_QUALITY = 85


@dataclass(frozen=True)
class FileType:
    content_type: str
    signature: bytes
    extensions: tuple[str, ...]


DOCUMENT_TYPES = (
    FileType("application/pdf", b"%PDF-", ("pdf",)),
    FileType("image/jpeg", b"\xff\xd8\xff", ("jpg", "jpeg")),
    FileType("image/png", b"\x89PNG\r\n\x1a\n", ("png",)),
)


_SIGNATURE_BYTES = max(len(kind.signature) for kind in DOCUMENT_TYPES)


def size(file: BinaryIO) -> int:
    """The file's length in bytes, found without reading it; leaves it at its start."""
    length = file.seek(0, io.SEEK_END)
    file.seek(0)
    return length


def sniff(file: BinaryIO) -> FileType | None:
    """The allowed type whose signature ``file`` starts with, if any, read from its first bytes
    alone; leaves it at its start."""
    file.seek(0)
    head = file.read(_SIGNATURE_BYTES)
    file.seek(0)
    return next((kind for kind in DOCUMENT_TYPES if head.startswith(kind.signature)), None)


def _shown(character: str) -> bool:
    category = unicodedata.category(character)
    return not category.startswith("C") and category not in ("Zl", "Zp")


def safe_file_name(name: str | None, kind: FileType) -> str:
    """``name`` as a label clients may show and save: its last path part, without control or
    formatting characters (bidi overrides) or leading dots, at most ``MAX_FILE_NAME``
    characters, and ending in an extension of ``kind`` (appended when it names another type)."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(filter(_shown, base)).strip().lstrip(".")
    stem, dot, extension = base.rpartition(".")
    if not dot or extension.lower() not in kind.extensions:
        stem, extension = base, kind.extensions[0]
    stem = stem[: MAX_FILE_NAME - len(extension) - 1].rstrip() or "document"
    return f"{stem}.{extension}"


def _refused(message: str, code: str) -> InvalidRequest:
    return InvalidRequest(message, code=code, reference="image")


def _flattened(image: Image.Image) -> Image.Image:
    """RGB for JPEG; transparent pixels become white rather than black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def profile_jpeg(file: BinaryIO) -> bytes:
    """``file``, a JPEG or PNG image, turned upright, scaled to fit 1200 x 1200 (never enlarged)
    and encoded as a new JPEG without the original's metadata."""
    try:
        with Image.open(file, formats=("JPEG", "PNG")) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _refused(
                    f"The image has more than {MAX_IMAGE_PIXELS} pixels.", "IMAGE_TOO_LARGE"
                )
            # A JPEG decodes straight to a smaller scale, so a large photo never sits in memory.
            image.draft("RGB", (IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
            picture = _flattened(ImageOps.exif_transpose(image))
    except Image.DecompressionBombError as error:
        raise _refused("The image has too many pixels.", "IMAGE_TOO_LARGE") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise _refused("image must be a JPEG or PNG image.", "INVALID_IMAGE") from error
    picture.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE), Image.Resampling.LANCZOS)
    encoded = io.BytesIO()
    picture.save(encoded, "JPEG", quality=JPEG_QUALITY)
    return encoded.getvalue()
