"""Vectorised NumPy D-SOBA on LIBSVM a9a with many agents over a ring: the
NumPy side of bench/dsoba-agents.ts (`npm run bench`).

The same run as `dbo run bench/dsoba-a9a-agents.yaml`, from the text files to
the last metrics row, written the way one would write it in NumPy: agents
stacked along a leading axis, every oracle a batched product over all agents
at once, the ring's gossip a weighted sum of rolled arrays.

  set-up      read a9a and a9a.t (LIBSVM text, dense 123 features, class =
              rank of the label), a random 70/30 train/validation split, an
              i.i.d. partition over the agents (part sizes differ by at most
              one, the first n mod m parts one larger), zero-padded stacks
              (m, n_max, d) with a row mask, Metropolis weights of the ring
  iteration   D-SOBA-SO (Kong et al., arXiv 2402.03167, Algorithm 1, as in
              src/algorithms/d-soba.ts): per agent ∇F on an upper batch and
              ∇_y G, HVP, JVP on one lower batch (one oracle call each,
              counted), the ATC message (x − αh, y − βv, z − γ(Hz − ∇_y F)),
              h ← (1 − θ)h + θ(−Jz), one gossip round
  evaluation  every evalEvery iterations and at the end, as dbo's rows without
              ground truth: consensus of x, y, z; upper and lower loss (mean
              over agents of f_i, g_i's data term at ȳ, full batch); test
              accuracy of ȳ; mean training accuracy of ȳ over the agents

With --split-from RUN/data.json it takes the agents' train/validation rows
from a dbo run directory instead of drawing its own, and prints its metrics
rows, so that they can be compared with that run's metrics.jsonl (the batch
of this run is at least every agent's sample count, so both runs are
deterministic full-batch runs and agree to rounding).

Usage: python3 numpy_dsoba_agents.py --config-json JSON [--split-from FILE]
  JSON: {"train": path, "test": path, "agents": m, "iterations": T,
         "evalEvery": k, "batch": b, "valFraction": 0.3, "alpha": ..,
         "beta": .., "gamma": .., "theta": .., "seed": s}
Prints one JSON line: {"cpuSeconds", "wallSeconds", "setupCpuSeconds",
"callsPerAgentIteration", "rows"}. Single-threaded BLAS is the caller's
choice (OPENBLAS_NUM_THREADS=1 in bench/dsoba-agents.ts).
"""
import argparse
import json
import time

import numpy as np


def read_libsvm(path, d=None):
    labels = []
    rows = []
    cols = []
    vals = []
    with open(path) as f:
        i = 0
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            labels.append(float(parts[0]))
            for tok in parts[1:]:
                k, v = tok.split(':')
                rows.append(i)
                cols.append(int(k) - 1)
                vals.append(float(v))
            i += 1
    cols = np.asarray(cols, dtype=np.int64)
    width = d if d is not None else int(cols.max()) + 1
    a = np.zeros((i, width))
    a[np.asarray(rows, dtype=np.int64), cols] = np.asarray(vals)
    return a, np.asarray(labels)


def stack(parts, a, labels, c):
    """Zero-padded (m, n_max, d) features, one-hot labels and a row mask."""
    m = len(parts)
    n_max = max(len(p) for p in parts)
    counts = np.array([len(p) for p in parts])
    idx = np.zeros((m, n_max), dtype=np.int64)
    mask = np.zeros((m, n_max))
    for i, p in enumerate(parts):
        idx[i, :len(p)] = p
        mask[i, :len(p)] = 1.0
    feats = a[idx] * mask[:, :, None]
    onehot = np.eye(c)[labels[idx]] * mask[:, :, None]
    return feats, onehot, mask, counts


def softmax(z):
    z = z - z.max(axis=2, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=2, keepdims=True)


class Problem:
    """Logistic-regression HPO (dbo's logreg-hpo), all agents stacked."""

    def __init__(self, train_parts, val_parts, a, classes, test_a, test_c, batch, rng):
        c = int(classes.max()) + 1
        self.c, self.d, self.m = c, a.shape[1], len(train_parts)
        self.at, self.et, self.mt, self.nt = stack(train_parts, a, classes, c)
        self.av, self.ev, self.mv, self.nv = stack(val_parts, a, classes, c)
        self.test_a, self.test_c = test_a, test_c
        self.train_c = [classes[p] for p in train_parts]
        self.train_parts = train_parts
        self.a = a
        self.reg = 1.0 / (c * self.d)
        self.batch = batch
        self.rng = rng
        self.counts = dict(gradF=0, gradG=0, hvp=0, jvp=0)

    def draw(self, feats, onehot, mask, counts):
        """This iteration's batch of every agent: all rows when the batch
        covers them (a9a over many agents), else b rows without replacement."""
        if np.all(counts <= self.batch):
            return feats, onehot, mask, counts.astype(float)
        keys = self.rng.random(mask.shape) + (1 - mask) * 2  # padding sorts last
        pick = np.argsort(keys, axis=1)[:, :self.batch]
        take = lambda t: np.take_along_axis(t, pick[:, :, None], axis=1) if t.ndim == 3 else np.take_along_axis(t, pick, axis=1)
        sub_mask = take(mask)
        return take(feats), take(onehot), sub_mask, sub_mask.sum(axis=1)

    def grad_f(self, y):
        """∇_y f of every agent on its upper batch (∇_x f = 0)."""
        self.counts['gradF'] += self.m
        a, e, mask, n = self.draw(self.av, self.ev, self.mv, self.nv)
        s = softmax(a @ y)
        g = (s - e) * mask[:, :, None]
        return np.swapaxes(a, 1, 2) @ g / n[:, None, None]

    def lower(self, x, y, v):
        """∇_y g, HVP(v), JVP(v) of every agent on one lower batch (3 calls each)."""
        self.counts['gradG'] += self.m
        self.counts['hvp'] += self.m
        self.counts['jvp'] += self.m
        a, e, mask, n = self.draw(self.at, self.et, self.mt, self.nt)
        at = np.swapaxes(a, 1, 2)
        s = softmax(a @ y)
        w = 2 * self.reg * np.exp(x)[:, :, None]
        gy = at @ ((s - e) * mask[:, :, None]) / n[:, None, None] + w * y
        u = a @ v
        su = s * u
        r = (su - s * su.sum(axis=2, keepdims=True)) * mask[:, :, None]
        hv = at @ r / n[:, None, None] + w * v
        jv = (w[:, :, 0] * (y * v).sum(axis=2))
        return gy, hv, jv

    def metrics(self, x, y, z):
        xb, yb, zb = x.mean(axis=0), y.mean(axis=0), z.mean(axis=0)
        cons = lambda t, b: float(((t - b) ** 2).reshape(len(t), -1).sum(axis=1).mean())

        def mean_ce(feats, onehot, mask, counts):
            s = softmax(feats @ yb)
            ce = -(np.log(np.maximum((s * onehot).sum(axis=2), 1e-300)) * mask).sum(axis=1)
            return float((ce / counts).mean())
        train_acc = np.mean([np.mean(np.argmax(self.a[p] @ yb, axis=1) == cl) for p, cl in zip(self.train_parts, self.train_c)])
        return dict(
            consensusX=cons(x, xb), consensusY=cons(y, yb), consensusZ=cons(z, zb),
            upperLoss=mean_ce(self.av, self.ev, self.mv, self.nv),
            lowerLoss=mean_ce(self.at, self.et, self.mt, self.nt),
            testAccuracy=float(np.mean(np.argmax(self.test_a @ yb, axis=1) == self.test_c)),
            trainAccuracy=float(train_acc),
        )


def ring_weights(m):
    """Metropolis weights of a ring: 1/(1 + max degree) per neighbour."""
    if m == 1:
        return 1.0, 0.0
    if m == 2:
        return 0.5, 0.5  # one neighbour
    return 1 / 3, 1 / 3


def run(cfg, split_from=None):
    cpu0, wall0 = time.process_time(), time.perf_counter()
    a, raw = read_libsvm(cfg['train'])
    values = np.unique(raw)
    classes = np.searchsorted(values, raw)
    test_a, test_raw = read_libsvm(cfg['test'], a.shape[1])
    test_c = np.searchsorted(values, test_raw)
    m = cfg['agents']
    rng = np.random.default_rng(cfg['seed'])
    if split_from:
        with open(split_from) as f:
            agents = json.load(f)['agents']
        train_parts = [np.asarray(r['train'], dtype=np.int64) for r in agents]
        val_parts = [np.asarray(r['validation'], dtype=np.int64) for r in agents]
    else:
        n = len(raw)
        perm = rng.permutation(n)
        n_val = int(round(cfg['valFraction'] * n))
        val_rows, train_rows = perm[:n_val], perm[n_val:]

        def iid(rows):
            rows = rows[rng.permutation(len(rows))]
            base, extra = divmod(len(rows), m)
            cuts = np.cumsum([0] + [base + (1 if i < extra else 0) for i in range(m)])
            return [rows[cuts[i]:cuts[i + 1]] for i in range(m)]
        train_parts, val_parts = iid(train_rows), iid(val_rows)
    p = Problem(train_parts, val_parts, a, classes, test_a, test_c, cfg['batch'], rng)
    w_self, w_nb = ring_weights(m)
    d, c = p.d, p.c
    x = np.zeros((m, d))
    y = np.zeros((m, d, c))
    z = np.zeros((m, d, c))
    h = np.zeros((m, d))
    alpha, beta, gamma, theta = cfg['alpha'], cfg['beta'], cfg['gamma'], cfg['theta']
    setup_cpu = time.process_time() - cpu0
    rows = [dict(iteration=0, **p.metrics(x, y, z))]
    T, every = cfg['iterations'], cfg['evalEvery']

    def mix(t):
        if m <= 2:
            return w_self * t + w_nb * np.roll(t, 1, axis=0)
        return w_self * t + w_nb * (np.roll(t, 1, axis=0) + np.roll(t, -1, axis=0))

    for t in range(1, T + 1):
        uy = p.grad_f(y)
        v, hz, jz = p.lower(x, y, z)
        mx = x - alpha * h
        h = (1 - theta) * h + theta * (-jz)
        my = y - beta * v
        mz = z - gamma * (hz - uy)
        x, y, z = mix(mx), mix(my), mix(mz)
        if t % every == 0 or t == T:
            if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(z).all()):
                raise RuntimeError(f'non-finite iterate at iteration {t}')
            rows.append(dict(iteration=t, **p.metrics(x, y, z)))
    calls = {k: v / (T * m) for k, v in p.counts.items()}
    return dict(cpuSeconds=time.process_time() - cpu0, wallSeconds=time.perf_counter() - wall0,
                setupCpuSeconds=setup_cpu, callsPerAgentIteration=calls, rows=rows)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--config-json', required=True)
    ap.add_argument('--split-from')
    args = ap.parse_args()
    print(json.dumps(run(json.loads(args.config_json), args.split_from)))
