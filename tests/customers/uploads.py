"""Small generated files for upload tests, and a multipart body written byte by byte for file
names that an HTTP client would escape."""

import io
import struct
import zlib

from PIL import Image

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def image(fmt: str, size: tuple[int, int], mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode == "RGB" else None).save(out, fmt, **save)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb's
    opening move); the image data is that of a 1 x 1 image."""
    data = bytearray(image("PNG", (1, 1)))
    ihdr = bytes(data[12:16]) + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def raw_multipart(field: str, file_name: bytes, data: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = b"testboundary7MA4YWxkTrZu0gW"
    body = b"".join(
        [
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="' + field.encode() + b'"; filename="',
            file_name,
            b'"\r\nContent-Type: application/octet-stream\r\n\r\n',
            data,
            b"\r\n--" + boundary + b"--\r\n",
        ]
    )
    return body, {"content-type": f"multipart/form-data; boundary={boundary.decode()}"}
