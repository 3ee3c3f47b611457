"""The Q-network file (qnet.bin, docs/controller.md) and its forward pass.

Formats 2 and 3, little-endian:
    "DQNQNET1", u32 version, u32 flags (1 = dueling head), u32 n_layers,
    u32 sizes[n_layers + 1], u64 n_params, f32 params[n_params],
    (format 3:) u32 desc_len, u8 desc[desc_len],
    u64 FNV-1a 64 of every byte before it.
params holds, for each dense layer l, W[l] (sizes[l], sizes[l+1]) row-major
and then b[l] (sizes[l+1]).
"""

import struct

import numpy as np

MAGIC = b"DQNQNET1"
VERSIONS = (2, 3)
FLAG_DUELING = 1
MAX_LAYERS = 8
MAX_WIDTH = 65536
DESC_MAX_BYTES = 1 << 20
FNV_INIT = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


class QNetFormatError(ValueError):
    """A file that is not a readable Q-network; the message names the path."""


def fnv1a64(data, h=FNV_INIT):
    """64-bit FNV-1a of data (common/fileio.c's dq_fnv1a64)."""
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


class QNet:
    """A ReLU MLP: hidden layers ReLU(x W + b), a linear last layer; with a
    dueling head the last layer's outputs are (V, A_1..A_n) and
    Q_a = V + A_a - mean(A). Computed in float32 like the C code."""

    def __init__(self, sizes, params, dueling=False):
        self.sizes = [int(s) for s in sizes]
        self.dueling = bool(dueling)
        self.weights, self.biases = [], []
        off = 0
        params = np.asarray(params, dtype=np.float32)
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            self.weights.append(params[off:off + n_in * n_out].reshape(n_in, n_out))
            off += n_in * n_out
            self.biases.append(params[off:off + n_out])
            off += n_out
        if off != params.size:
            raise ValueError("%d parameters, the layer sizes need %d" % (params.size, off))

    @property
    def obs_dim(self):
        return self.sizes[0]

    @property
    def n_actions(self):
        return self.sizes[-1] - (1 if self.dueling else 0)

    def forward(self, obs):
        """Q-values (B, n_actions) of observations (B, obs_dim) or (obs_dim,)."""
        x = np.asarray(obs, dtype=np.float32)
        single = x.ndim == 1
        x = np.atleast_2d(x)
        last = len(self.weights) - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = (x @ w + b).astype(np.float32)
            if l < last:
                x = np.maximum(x, np.float32(0))
        if self.dueling:
            v, adv = x[:, :1], x[:, 1:]
            x = (v + adv - adv.mean(axis=1, keepdims=True, dtype=np.float32)).astype(np.float32)
        return x[0] if single else x


def read_qnet(path):
    """(QNet, description text or None) from a Q-network file; refuses a bad
    magic, version, flags, sizes, length or checksum with QNetFormatError."""
    with open(path, "rb") as f:
        data = f.read()

    def bad(why):
        return QNetFormatError("%s: %s" % (path, why))

    if len(data) < 20:
        raise bad("truncated (%d bytes, shorter than the header)" % len(data))
    if data[:8] != MAGIC:
        raise bad('bad magic, not a Q-network file (expected "DQNQNET1")')
    version, flags, n_layers = struct.unpack_from("<III", data, 8)
    if version not in VERSIONS:
        raise bad("unsupported format version %d (this reader reads 2 and 3)" % version)
    if flags & ~FLAG_DUELING:
        raise bad("unknown flags 0x%x" % flags)
    if not 1 <= n_layers <= MAX_LAYERS:
        raise bad("sizes inconsistent: %d layers (1 to %d allowed)" % (n_layers, MAX_LAYERS))
    off = 20
    if len(data) < off + 4 * (n_layers + 1) + 8:
        raise bad("truncated (the shape header)")
    sizes = struct.unpack_from("<%dI" % (n_layers + 1), data, off)
    off += 4 * (n_layers + 1)
    (n_params,) = struct.unpack_from("<Q", data, off)
    off += 8
    if any(not 1 <= s <= MAX_WIDTH for s in sizes):
        raise bad("sizes inconsistent: a width outside 1 to %d" % MAX_WIDTH)
    need = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if n_params != need:
        raise bad("sizes inconsistent: n_params = %d but the layer sizes need %d" % (n_params, need))
    dueling = bool(flags & FLAG_DUELING)
    if dueling and sizes[-1] < 3:
        raise bad("dueling head needs at least 3 outputs")
    if len(data) < off + 4 * n_params:
        raise bad("truncated (%d bytes)" % len(data))
    params = np.frombuffer(data, dtype="<f4", count=n_params, offset=off).astype(np.float32)
    off += 4 * n_params
    desc = None
    if version == 3:
        if len(data) < off + 4:
            raise bad("truncated (the description length)")
        (desc_len,) = struct.unpack_from("<I", data, off)
        off += 4
        if desc_len > DESC_MAX_BYTES:
            raise bad("description of %d bytes (at most %d allowed)" % (desc_len, DESC_MAX_BYTES))
        if desc_len:
            desc = data[off:off + desc_len].decode("utf-8")
        off += desc_len
    if len(data) < off + 8:
        raise bad("truncated (%d bytes, expected %d)" % (len(data), off + 8))
    if len(data) > off + 8:
        raise bad("%d trailing bytes after the checksum" % (len(data) - off - 8))
    (stored,) = struct.unpack_from("<Q", data, off)
    computed = fnv1a64(data[:off])
    if stored != computed:
        raise bad("checksum mismatch (stored %016x, computed %016x)" % (stored, computed))
    return QNet(sizes, params, dueling), desc


def write_qnet(path, qnet, desc=None):
    """Writes qnet (and the description text desc) as a format-3 file, the
    bytes dq_qnet_save_desc writes (not atomically: write to a temporary
    name and rename when readers may be looking)."""
    sizes = qnet.sizes
    out = bytearray(MAGIC)
    out += struct.pack("<III", 3, FLAG_DUELING if qnet.dueling else 0, len(sizes) - 1)
    out += struct.pack("<%dI" % len(sizes), *sizes)
    params = np.concatenate([np.concatenate([w.reshape(-1), b])
                             for w, b in zip(qnet.weights, qnet.biases)]).astype("<f4")
    out += struct.pack("<Q", params.size)
    out += params.tobytes()
    text = (desc or "").encode("utf-8")
    out += struct.pack("<I", len(text)) + text
    out += struct.pack("<Q", fnv1a64(out))
    with open(path, "wb") as f:
        f.write(bytes(out))
