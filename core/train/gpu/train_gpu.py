"""Pretrain a ZPNG byte model on a GPU with PyTorch: the same model, loss and
schedule as `zpng train` (core/train), for GPU calls too short to build the
Go command first. Writes NAME.safetensors in ZPNG's model format.

usage: train_gpu.py CORPUS_DIR LAYERS HIDDEN SECONDS NAME OUT_DIR [F16|F32] [LR]

Environment: ZPNG_CRLF, the share of LF-text windows given CRLF line endings
(default 0.125, as `zpng train --crlf`); ZPNG_INIT, a model file of the same
shape to start from (as `zpng train --init`); ZPNG_SAVE_EVERY, seconds between
saves of the model so far (default 90: a run cut short by the device's time
limit still brings a model back); ZPNG_BATCH and ZPNG_SEQ, windows per step and
bytes per window (default 256 and 256); ZPNG_REPEAT=DIR=K, the training part of the
files under DIR (relative to the corpus, e.g. prose/literature) taken K times, so that a
small part of the corpus gets more of the windows; ZPNG_DEVICE=cpu for a smoke test
without a GPU.
"""
import json, math, os, struct, sys, time

import numpy as np
import torch
import torch.nn as nn

ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def save_st(path, tensors, meta):
    """Writes a safetensors file (8-byte header length, JSON header, raw
    little-endian data) through a temporary name: no safetensors package needed."""
    names = {v: k for k, v in ST_DTYPES.items()}
    hdr, off, blobs = {"__metadata__": meta}, 0, []
    for k, t in tensors.items():
        b = t.contiguous().numpy().tobytes()  # F32 or F16: numpy has no bfloat16
        hdr[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(path + ".tmp", path)


def load_st(path):
    """Reads a safetensors file's tensors as float32."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8 : 8 + n])
    hdr.pop("__metadata__", None)
    out = {}
    for k, d in hdr.items():
        a, z = d["data_offsets"]
        raw = torch.frombuffer(bytearray(b[8 + n + a : 8 + n + z]), dtype=torch.uint8)
        out[k] = raw.view(ST_DTYPES[d["dtype"]]).reshape(d["shape"]).float()
    return out


corpus, L, H, secs, name, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
dtype = torch.float16 if (sys.argv[7] if len(sys.argv) > 7 else "F32") == "F16" else torch.float32
peak = float(sys.argv[8]) if len(sys.argv) > 8 else 2e-3
# ZPNG_BATCH, ZPNG_SEQ: windows per step and their length. On the H100, beside a small
# run, the 4x512 model brought 1.0 MB/s through at 256 windows per step and 1.37 MB/s
# at 512 (docs/GPU.md): a step of twice the windows costs about 1.5 times the time.
B, T = int(os.environ.get("ZPNG_BATCH", "256")), int(os.environ.get("ZPNG_SEQ", "256"))
WARMUP, CLIP = 200, 1.0
CRLF = float(os.environ.get("ZPNG_CRLF", "0.125"))
torch.backends.cuda.matmul.allow_tf32 = True  # float training only; coding uses the integer engine
torch.backends.cudnn.allow_tf32 = True

# Every file, in path order; the last 1% of each is held out (as core/train does).
repeat_dir, _, repeat = (os.environ.get("ZPNG_REPEAT") or "=1").rpartition("=")  # empty: none
repeat_dir, repeat = repeat_dir.strip("/"), int(repeat)
train, valid, nfiles, nbytes = [], [], 0, 0  # nbytes: the slice's own size, without repeats
for root, _, files in sorted(os.walk(corpus)):
    for f in sorted(files):
        if f in ("MANIFEST.tsv", "VERSIONS.txt"):
            continue
        b = open(os.path.join(root, f), "rb").read()
        cut = len(b) - int(len(b) * 0.01)
        rel = os.path.relpath(os.path.join(root, f), corpus)
        k = repeat if repeat_dir and (rel + "/").startswith(repeat_dir + "/") else 1
        train.extend([b[:cut]] * k); valid.append(b[cut:]); nfiles += 1; nbytes += len(b)
train = np.frombuffer(b"".join(train), dtype=np.uint8)
valid = np.frombuffer(b"".join(valid), dtype=np.uint8)
print(f"{name}: {L}x{H}, {nfiles} files, {len(train)} train bytes, {len(valid)} valid bytes", flush=True)
dev = os.environ.get("ZPNG_DEVICE", "cuda")
d = torch.from_numpy(train.copy()).to(dev).long()
v = torch.from_numpy(valid.copy()).to(dev).long()


class ByteGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(256, H)
        self.gru = nn.GRU(H, H, L, batch_first=True)
        self.head = nn.Linear(H, 256)

    def forward(self, x):
        y, _ = self.gru(self.embed(x))
        return self.head(y)


torch.manual_seed(1)
m = ByteGRU()
init = os.environ.get("ZPNG_INIT", "")
if init:
    m.load_state_dict(load_st(init))  # strict: a model of another shape is refused
    print(f"{name}: starting from {init}", flush=True)
m = m.to(dev)
opt = torch.optim.Adam(m.parameters(), lr=peak)
ar = torch.arange(T, device=dev)


def windows(data, idx, t):
    a = torch.arange(t, device=dev)
    tgt = data[idx[:, None] + a]
    inp = data[(idx[:, None] + a - 1).clamp(min=0)]
    inp[idx == 0, 0] = 0  # a stream starts with input byte 0
    return inp, tgt


def crlf(inp, tgt, share):
    """Rewrites a share of the windows that are LF text (a line feed, no
    carriage return, no NUL) with CRLF line endings, as core/train's Windows
    does: the corpus has almost none, real files do."""
    pick = (torch.rand(len(tgt), device=dev) < share) & (tgt == 10).any(1) & ~(tgt == 13).any(1) & ~(tgt == 0).any(1)
    if not pick.any():
        return inp, tgt
    s = tgt[pick]
    nl = s == 10
    pos = torch.arange(s.shape[1], device=dev) + torch.cumsum(nl.long(), 1)  # each byte's place in the CRLF text
    e = torch.zeros(len(s), 2 * s.shape[1], dtype=s.dtype, device=dev)
    e.scatter_(1, torch.where(nl, pos - 1, pos), torch.where(nl, torch.full_like(s, 13), s))  # the CRs
    e.scatter_(1, pos, s)
    inp, tgt = inp.clone(), tgt.clone()
    tgt[pick] = e[:, : s.shape[1]]
    inp[pick] = torch.cat([inp[pick][:, :1], e[:, : s.shape[1] - 1]], 1)
    return inp, tgt


def validate():
    # In batches of 32 rows: the whole slice at once needed 54 GiB for the large model.
    t = 4 * T
    n = min(len(valid), 1 << 20) // t
    total = 0.0
    with torch.no_grad():
        for first in range(0, n, 32):
            idx = torch.arange(first, min(first + 32, n), device=dev) * t
            inp, tgt = windows(v, idx, t)
            total += nn.functional.cross_entropy(m(inp).reshape(-1, 256), tgt.reshape(-1), reduction="sum").item()
    return total / (n * t) / math.log(2)


def save(step, el, vb=None):
    tr = {"steps": step, "device": "cuda (" + torch.cuda.get_device_name(0) + ")" if dev == "cuda" else dev, "seconds": round(el, 1),
          "corpus": f"core/train/gpu/corpus-subset.sh slice ({nfiles} files, {nbytes} bytes"
                    + (f"; ZPNG_REPEAT={repeat_dir}={repeat}" if repeat_dir else "") + ")"}
    if vb is not None:
        tr["validation_bpb"] = vb
    meta = {"preset": name, "config": {"layers": L, "hidden": H, "embed": H}, "training": tr,
            "extra": {"batch": str(B), "seq": str(T), "lr": str(peak), "crlf": str(CRLF), "init": os.path.basename(init),
                      "finished": str(vb is not None).lower(), "trainer": "core/train/gpu/train_gpu.py, PyTorch " + torch.__version__}}
    sd = {k: t.detach().to(dtype).cpu() for k, t in m.state_dict().items()}
    save_st(os.path.join(out, name + ".safetensors"), sd, {"zpng": json.dumps(meta)})


SAVE_EVERY = float(os.environ.get("ZPNG_SAVE_EVERY", "90"))
t0, step, n, saved = time.time(), 0, len(train) - T, time.time()
while time.time() - t0 < secs:
    p = min((time.time() - t0) / secs, 1)
    lr = peak * (step + 1) / WARMUP if step < WARMUP else peak / 20 + (peak - peak / 20) * 0.5 * (1 + math.cos(math.pi * p))
    for g in opt.param_groups:
        g["lr"] = lr
    inp, tgt = crlf(*windows(d, torch.randint(0, n, (B,), device=dev), T), CRLF)
    loss = nn.functional.cross_entropy(m(inp).reshape(-1, 256), tgt.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(m.parameters(), CLIP)
    opt.step()
    step += 1
    if step % 250 == 0:
        el = time.time() - t0
        print(f"step {step}  {el:.0f}s  loss {loss.item() / math.log(2):.4f} bpb  lr {lr:.2e}  {step * B * T / el / 1e6:.2f} MB/s", flush=True)
    if time.time() - saved > SAVE_EVERY:
        save(step, time.time() - t0)
        saved = time.time()
save(step, time.time() - t0)  # before validation, in case that fails
vb = validate()
el = time.time() - t0
print(f"finished {name}: {step} steps of {B}x{T} ({step * B * T / 1e6:.0f} MB) in {el:.0f}s, validation {vb:.4f} bpb", flush=True)
save(step, el, vb)
