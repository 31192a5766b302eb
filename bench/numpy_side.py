"""NumPy side of `npm run bench` (bench/run.ts).

A small server: reads one JSON command per line on stdin, runs the named case
once (one timing sample) and answers one JSON line on stdout. bench/run.ts
alternates these samples with dbo's own, so that both sides see the same
machine load, and takes medians.

Every case here is hand-written NumPy doing the same work as dbo's case of the
same name, on data of the same shapes (random values: timing only):
  gather, gatherT, fullT, fullBatch, matvec   dense kernels (GFLOP/s)
  d-soba, cd-bsvrgd   per-iteration time on the SEED-000 synthetic HPO
                      workload with the same oracle calls per agent and
                      iteration as dbo (counts are reported and compared)
  mlpreal-*           the real problems' oracles (∇_y g, HVP, JVP at batch
                      100) of meta-learning (src/problems/mlp-meta.ts) and
                      hyper-cleaning (src/problems/hyper-cleaning.ts), on the
                      inputs dbo sends (`mlpreal-*-load`, which answers the
                      three results for the correctness check)
  mlp-*               stand-in tanh MLP gradient, HVP and JVP at batch 100
Run single-threaded (bench/run.ts sets OPENBLAS_NUM_THREADS=1).
"""
import json
import sys
import time

import numpy as np


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------
# Dense kernels at the logistic-HPO shapes (16 tables, as in a SEED-000 run).

class Kernels:
    def __init__(self, n, d, c, batch, tables):
        rng = np.random.default_rng(1)
        self.n, self.d, self.c, self.batch = n, d, c, batch
        self.tables = [rng.standard_normal((n, d)) for _ in range(tables)]
        self.y = rng.standard_normal((d, c))
        self.r = rng.standard_normal((batch, c))
        self.rfull = rng.standard_normal((n, c))
        self.x = rng.standard_normal(d)
        self.rng = rng
        self.k = 0

    def sample(self, kind, calls, clock):
        rng, tables, n, b = self.rng, self.tables, self.n, self.batch
        idx = [rng.choice(n, b, replace=False) for _ in range(calls)]
        t0 = clock()
        for j in range(calls):
            a = tables[(self.k + j) % len(tables)]
            if kind == 'gather':
                a[idx[j]] @ self.y
            elif kind == 'gatherT':
                a[idx[j]].T @ self.r
            elif kind == 'fullBatch':
                a @ self.y
            elif kind == 'fullT':
                a.T @ self.rfull
            elif kind == 'matvec':
                a @ self.x
        dt = clock() - t0
        self.k += calls
        return dt / calls


# --------------------------------------------------------------------------
# SEED-000 synthetic HPO: m agents, n train and n validation rows each.

class Hpo:
    def __init__(self, m, n, d, c, batch):
        rng = np.random.default_rng(2)
        self.m, self.n, self.d, self.c, self.b = m, n, d, c, batch
        self.at = [rng.standard_normal((n, d)) for _ in range(m)]
        self.av = [rng.standard_normal((n, d)) for _ in range(m)]
        self.lt = [rng.integers(0, c, n) for _ in range(m)]
        self.lv = [rng.integers(0, c, n) for _ in range(m)]
        self.reg = 1.0 / (c * d)
        self.rows = np.arange(batch)
        # Ring, Metropolis weights (degree 2: 1/3 each).
        w = np.zeros((m, m))
        for i in range(m):
            for j in (i - 1, i + 1):
                w[i, j % m] = 1.0 / 3
            w[i, i] = 1 - w[i].sum()
        self.w = w
        self.rng = rng
        self.counts = dict(gradF=0, gradG=0, hvp=0, jvp=0)

    def draw(self):
        return self.rng.choice(self.n, self.b, replace=False)

    def grad_f(self, i, y, idx):
        """∇_y f on the validation minibatch (∇_x f = 0)."""
        self.counts['gradF'] += 1
        a = self.av[i][idx]
        s = softmax(a @ y)
        s[self.rows, self.lv[i][idx]] -= 1
        return a.T @ s / self.b

    def lower(self, i, x, y, v, idx):
        """∇_y g, HVP(v) and JVP(v) on one training minibatch, sharing the
        gathered rows and the softmax (3 oracle calls)."""
        self.counts['gradG'] += 1
        self.counts['hvp'] += 1
        self.counts['jvp'] += 1
        a = self.at[i][idx]
        s = softmax(a @ y)
        w = 2 * self.reg * np.exp(x)[:, None]
        g = s.copy()
        g[self.rows, self.lt[i][idx]] -= 1
        gy = a.T @ g / self.b + w * y
        u = a @ v
        r = s * u - s * (s * u).sum(axis=1, keepdims=True)
        hv = a.T @ r / self.b + w * v
        jv = (w * y * v).sum(axis=1)
        return gy, hv, jv


class DSoba:
    """D-SOBA-SO (SEED-004 Algorithm 1) as in src/algorithms/d-soba.ts."""

    def __init__(self, p, alpha=0.05, beta=0.1, gamma=0.1, theta=0.5):
        self.p = p
        m, d, c = p.m, p.d, p.c
        self.x = np.zeros((m, d))
        self.y = np.zeros((m, d, c))
        self.z = np.zeros((m, d, c))
        self.h = np.zeros((m, d))
        self.alpha, self.beta, self.gamma, self.theta = alpha, beta, gamma, theta

    def step(self):
        p = self.p
        m, d, c = p.m, p.d, p.c
        msg = np.empty((m, d + 2 * d * c))
        for i in range(m):
            uy = p.grad_f(i, self.y[i], p.draw())
            v, hz, jz = p.lower(i, self.x[i], self.y[i], self.z[i], p.draw())
            omega = -jz  # ∇_x f = 0
            msg[i, :d] = self.x[i] - self.alpha * self.h[i]
            self.h[i] = (1 - self.theta) * self.h[i] + self.theta * omega
            msg[i, d:d + d * c] = (self.y[i] - self.beta * v).ravel()
            msg[i, d + d * c:] = (self.z[i] - self.gamma * (hz - uy)).ravel()
        mixed = p.w @ msg
        self.x = mixed[:, :d].copy()
        self.y = mixed[:, d:d + d * c].reshape(m, d, c).copy()
        self.z = mixed[:, d + d * c:].reshape(m, d, c).copy()


class CdBsvrgd:
    """CD-BSVRGD (SEED-000 Algorithm 1) as in src/algorithms/cd-bsvrgd.ts:
    STORM estimators at the current and previous point on one batch, gradient
    tracking, η-interpolated gossip steps."""

    def __init__(self, p, eta=0.1, alpha=90.0, beta1=1.0, beta2=1.0, beta3=0.1):
        self.p = p
        m, d, c = p.m, p.d, p.c
        dy = d * c
        self.eta, self.coef = eta, 1 - alpha * eta * eta
        self.b1, self.b2, self.b3 = beta1, beta2, beta3
        z = lambda *s: np.zeros(s)
        self.x, self.y, self.z = z(m, d), z(m, dy), z(m, dy)
        self.xp, self.yp, self.zp = z(m, d), z(m, dy), z(m, dy)
        self.u, self.v, self.w = z(m, d), z(m, dy), z(m, dy)
        self.pt, self.q, self.r = z(m, d), z(m, dy), z(m, dy)
        self.t = 0

    def estimators(self, i, x, y, zv, idx_f, idx_g):
        p = self.p
        shape = (p.d, p.c)
        fy = p.grad_f(i, y.reshape(shape), idx_f).ravel()
        gy, hz, jz = p.lower(i, x, y.reshape(shape), zv.reshape(shape), idx_g)
        return -jz, hz.ravel() - fy, gy.ravel()  # Ĝ_F (∇_x f = 0), Ĝ_h, δ^g

    def step(self):
        p, m = self.p, self.p.m
        d, dy = p.d, p.d * p.c
        if self.t == 0:
            for i in range(m):
                f_, h_, g_ = self.estimators(i, self.x[i], self.y[i], self.z[i], p.draw(), p.draw())
                self.u[i], self.w[i], self.v[i] = f_, h_, g_
            self.pt, self.q, self.r = self.u.copy(), self.v.copy(), self.w.copy()
            msg = np.hstack([self.x, self.y, self.z])
            mixed = p.w @ msg
            mx, my, mz = mixed[:, :d], mixed[:, d:d + dy], mixed[:, d + dy:]
        else:
            up, vp, wp = self.u.copy(), self.v.copy(), self.w.copy()
            for i in range(m):
                idx_f, idx_g = p.draw(), p.draw()
                nf, nh, ny = self.estimators(i, self.x[i], self.y[i], self.z[i], idx_f, idx_g)
                of, oh, oy = self.estimators(i, self.xp[i], self.yp[i], self.zp[i], idx_f, idx_g)
                self.u[i] = self.coef * (self.u[i] - of) + nf
                self.v[i] = self.coef * (self.v[i] - oy) + ny
                self.w[i] = self.coef * (self.w[i] - oh) + nh
            msg = np.hstack([self.x, self.y, self.z, self.pt, self.q, self.r])
            mixed = p.w @ msg
            o = np.cumsum([0, d, dy, dy, d, dy, dy])
            mx, my, mz, mp, mq, mr = (mixed[:, o[k]:o[k + 1]] for k in range(6))
            self.pt = mp + self.u - up
            self.q = mq + self.v - vp
            self.r = mr + self.w - wp
        self.xp, self.yp, self.zp = self.x.copy(), self.y.copy(), self.z.copy()
        e = self.eta
        self.x = (1 - e) * self.x + e * (mx - self.b1 * self.pt)
        self.y = (1 - e) * self.y + e * (my - self.b2 * self.q)
        self.z = (1 - e) * self.z + e * (mz - self.b3 * self.r)
        self.t += 1


# --------------------------------------------------------------------------
# MLP oracles: softmax cross-entropy of a tanh MLP, batch B; gradient, HVP
# (Pearlmutter R-op, forward-over-reverse) and a mixed product of the same cost
# (the JVP of the bilevel problems: ∇²_{xy} of a per-parameter weight decay
# plus the data term's directional derivative), written by hand.

class Mlp:
    def __init__(self, sizes, batch):
        rng = np.random.default_rng(3)
        self.sizes = sizes
        self.ws = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
        self.bs = [np.zeros(b) for b in sizes[1:]]
        self.vs = [rng.standard_normal(w.shape) for w in self.ws]
        self.vb = [rng.standard_normal(b.shape) for b in self.bs]
        self.x = rng.standard_normal((batch, sizes[0]))
        labels = rng.integers(0, sizes[-1], batch)
        self.e = np.eye(sizes[-1])[labels]
        self.lam = [0.1 * rng.standard_normal(w.shape) for w in self.ws]
        self.batch = batch

    def forward(self):
        acts = [self.x]
        h = self.x
        for k, (w, b) in enumerate(zip(self.ws, self.bs)):
            z = h @ w + b
            h = np.tanh(z) if k < len(self.ws) - 1 else z
            acts.append(h)
        return acts

    def backward(self, acts, delta):
        gw, gb = [], []
        for k in range(len(self.ws) - 1, -1, -1):
            gw.append(acts[k].T @ delta)
            gb.append(delta.sum(axis=0))
            if k > 0:
                delta = (delta @ self.ws[k].T) * (1 - acts[k] ** 2)
        return gw[::-1], gb[::-1]

    def grad(self):
        acts = self.forward()
        s = softmax(acts[-1])
        gw, gb = self.backward(acts, (s - self.e) / self.batch)
        return [g + np.exp(l) * w for g, l, w in zip(gw, self.lam, self.ws)], gb

    def hvp(self):
        # Forward pass with tangents (R-op), then reverse pass of the tangents.
        n = len(self.ws)
        h = self.x
        rh = np.zeros_like(self.x)
        acts, racts, zs = [h], [rh], []
        for k in range(n):
            z = h @ self.ws[k] + self.bs[k]
            rz = rh @ self.ws[k] + h @ self.vs[k] + self.vb[k]
            if k < n - 1:
                h = np.tanh(z)
                rh = (1 - h ** 2) * rz
            else:
                h, rh = z, rz
            acts.append(h)
            racts.append(rh)
        s = softmax(h)
        delta = (s - self.e) / self.batch
        rdelta = (s * rh - s * (s * rh).sum(axis=1, keepdims=True)) / self.batch
        hw = []
        hb = []
        for k in range(n - 1, -1, -1):
            hw.append(racts[k].T @ delta + acts[k].T @ rdelta + np.exp(self.lam[k]) * self.vs[k])
            hb.append(rdelta.sum(axis=0))
            if k > 0:
                a = acts[k]
                back = delta @ self.ws[k].T
                rback = rdelta @ self.ws[k].T + delta @ self.vs[k].T
                rdelta = rback * (1 - a ** 2) - back * 2 * a * racts[k]
                delta = back * (1 - a ** 2)
        return hw[::-1], hb[::-1]

    def jvp(self):
        # ∇²_{λ θ} of Σ e^λ θ²/2 applied to v: e^λ ⊙ θ ⊙ v (per weight).
        return [np.exp(l) * w * v for l, w, v in zip(self.lam, self.ws, self.vs)]


# --------------------------------------------------------------------------
# The real neural-network problems' lower-level oracles, by hand, with the
# formulas of src/problems/mlp-meta.ts and src/problems/hyper-cleaning.ts
# (ReLU hidden layers, W_j stored n_in × n_out followed by b_j; softmax
# cross-entropy). Inputs (batch rows X, labels, x, y, v) come from dbo.

def unpack(vec, sizes):
    """Views (W_j, b_j) of the layers of a parameter vector."""
    out, o = [], 0
    for a, b in zip(sizes[:-1], sizes[1:]):
        out.append((vec[o:o + a * b].reshape(a, b), vec[o + a * b:o + a * b + b]))
        o += a * b + b
    return out


def jp(p, r):
    """Softmax Jacobian applied per row: p ⊙ (r − ⟨p, r⟩)."""
    return p * (r - (p * r).sum(axis=1, keepdims=True))


class MlpMetaNp:
    """Meta-learning (class P): x = hidden layers, y = head (V, c), g = mean ℓ + (μ/2)‖y‖²."""

    def __init__(self, cmd):
        self.sizes = cmd['sizes']
        self.mu = cmd['mu']
        self.X = np.array(cmd['X']).reshape(-1, self.sizes[0])
        self.n = self.X.shape[0]
        self.e = np.eye(self.sizes[-1])[np.array(cmd['labels'])]
        self.x, self.y, self.v = (np.array(cmd[k]) for k in ('x', 'y', 'v'))
        self.xl = unpack(self.x, self.sizes[:-1])
        self.head = unpack(self.y, self.sizes[-2:])[0]
        self.dir = unpack(self.v, self.sizes[-2:])[0]

    def features(self):
        acts, h = [], self.X
        for w, b in self.xl:
            h = np.maximum(h @ w + b, 0)
            acts.append(h)
        return acts

    def probs(self, h):
        V, c = self.head
        return softmax(h @ V + c)

    def grad(self):
        h = self.features()[-1]
        d = self.probs(h) - self.e
        return np.concatenate([(h.T @ d).ravel() / self.n, d.sum(axis=0) / self.n]) + self.mu * self.y

    def hvp(self):
        h = self.features()[-1]
        U, u = self.dir
        jr = jp(self.probs(h), h @ U + u)
        return np.concatenate([(h.T @ jr).ravel() / self.n, jr.sum(axis=0) / self.n]) + self.mu * self.v

    def jvp(self):
        acts = self.features()
        h = acts[-1]
        V, _ = self.head
        U, u = self.dir
        p = self.probs(h)
        jr = jp(p, h @ U + u)
        delta = ((p - self.e) @ U.T + jr @ V.T) / self.n * (h > 0)
        out = []
        for j in range(len(self.xl) - 1, -1, -1):
            inp = self.X if j == 0 else acts[j - 1]
            out.append(np.concatenate([(inp.T @ delta).ravel(), delta.sum(axis=0)]))
            if j > 0:
                delta = (delta @ self.xl[j][0].T) * (acts[j - 1] > 0)
        return np.concatenate(out[::-1])


class HyperCleaningNp:
    """Hyper-cleaning (class G): y = all weights, g = Σ_B σ(x_e) ℓ_e / |B| + C‖y‖²."""

    def __init__(self, cmd):
        self.sizes = cmd['sizes']
        self.C = cmd['C']
        self.X = np.array(cmd['X']).reshape(-1, self.sizes[0])
        self.n = self.X.shape[0]
        self.e = np.eye(self.sizes[-1])[np.array(cmd['labels'])]
        self.x, self.y, self.v = (np.array(cmd[k]) for k in ('x', 'y', 'v'))
        self.rows = np.array(cmd['rows'])
        self.p = unpack(self.y, self.sizes)
        self.dv = unpack(self.v, self.sizes)

    def weights(self):
        """σ(x_e)/|B| per batch row (logistic, as dbo's sigmoid)."""
        return 1 / (1 + np.exp(-self.x[self.rows]))

    def forward(self):
        acts, h = [], self.X
        last = len(self.p) - 1
        for j, (w, b) in enumerate(self.p):
            z = h @ w + b
            h = np.maximum(z, 0) if j < last else z
            acts.append(h)
        acts[-1] = softmax(acts[-1])
        return acts

    def backward(self, acts, delta):
        grads = []
        for j in range(len(self.p) - 1, -1, -1):
            inp = self.X if j == 0 else acts[j - 1]
            grads.append(np.concatenate([(inp.T @ delta).ravel(), delta.sum(axis=0)]))
            if j > 0:
                delta = (delta @ self.p[j][0].T) * (acts[j - 1] > 0)
        return np.concatenate(grads[::-1])

    def rforward(self, acts):
        racts = []
        last = len(self.p) - 1
        for j, ((w, _), (dw, db)) in enumerate(zip(self.p, self.dv)):
            inp = self.X if j == 0 else acts[j - 1]
            r = inp @ dw + db
            if j > 0:
                r = r + racts[j - 1] @ w
            if j < last:
                r = r * (acts[j] > 0)
            racts.append(r)
        return racts

    def grad(self):
        acts = self.forward()
        w = (self.weights() / self.n)[:, None]
        return self.backward(acts, w * (acts[-1] - self.e)) + 2 * self.C * self.y

    def hvp(self):
        acts = self.forward()
        racts = self.rforward(acts)
        w = (self.weights() / self.n)[:, None]
        delta = w * (acts[-1] - self.e)
        rdelta = w * jp(acts[-1], racts[-1])
        out = []
        for j in range(len(self.p) - 1, -1, -1):
            inp = self.X if j == 0 else acts[j - 1]
            gw = inp.T @ rdelta
            if j > 0:
                gw = gw + racts[j - 1].T @ delta
            out.append(np.concatenate([gw.ravel(), rdelta.sum(axis=0)]))
            if j > 0:
                mask = acts[j - 1] > 0
                rdelta = (rdelta @ self.p[j][0].T + delta @ self.dv[j][0].T) * mask
                delta = (delta @ self.p[j][0].T) * mask
        return np.concatenate(out[::-1]) + 2 * self.C * self.v

    def jvp(self):
        acts = self.forward()
        ro = self.rforward(acts)[-1]
        p = acts[-1]
        dot = (p * ro).sum(axis=1) - (ro * self.e).sum(axis=1)
        s = self.weights()
        out = np.zeros_like(self.x)
        np.add.at(out, self.rows, s * (1 - s) * dot / self.n)
        return out


# --------------------------------------------------------------------------

state = {}
clock = time.process_time


def get(key, make):
    if key not in state:
        state[key] = make()
    return state[key]


def run(cmd):
    case = cmd['case']
    global clock
    clock = time.perf_counter if cmd.get('clock') == 'wall' else time.process_time
    if case == 'info':
        import ctypes
        import glob
        import os
        core = 'unknown'
        for lib in glob.glob(os.path.join(os.path.dirname(np.__file__), '..', 'numpy.libs', '*openblas*')):
            for name in ('scipy_openblas_get_corename64_', 'scipy_openblas_get_corename_', 'openblas_get_corename'):
                try:
                    f = getattr(ctypes.CDLL(lib), name)
                    f.restype = ctypes.c_char_p
                    core = f().decode()
                except (AttributeError, OSError):
                    continue
        return dict(numpy=np.__version__, openblasCore=core)
    if case in ('gather', 'gatherT', 'fullBatch', 'fullT', 'matvec'):
        k = get('kernels', lambda: Kernels(cmd['n'], cmd['d'], cmd['c'], cmd['batch'], cmd['tables']))
        return dict(seconds=k.sample(case, cmd['calls'], clock))
    if case in ('d-soba', 'cd-bsvrgd'):
        def make():
            p = Hpo(cmd['m'], cmd['n'], cmd['d'], cmd['c'], cmd['batch'])
            alg = DSoba(p) if case == 'd-soba' else CdBsvrgd(p)
            for _ in range(3):
                alg.step()  # warm-up (and CD-BSVRGD's first, one-point iteration)
            return alg
        alg = get(case, make)
        its = cmd['iterations']
        before = dict(alg.p.counts)
        t0 = clock()
        for _ in range(its):
            alg.step()
        dt = clock() - t0
        per = {k: (alg.p.counts[k] - before[k]) / (its * alg.p.m) for k in before}
        return dict(seconds=dt / its, callsPerAgentIteration=per)
    if case.startswith('mlpreal-'):
        _, key, what = case.split('-')
        if what == 'load':
            net = state['mlpreal-' + key] = (MlpMetaNp if key == 'meta' else HyperCleaningNp)(cmd)
            return {o: getattr(net, o)().tolist() for o in ('grad', 'hvp', 'jvp')}
        f = getattr(state['mlpreal-' + key], what)
        calls = cmd['calls']
        t0 = clock()
        for _ in range(calls):
            f()
        return dict(seconds=(clock() - t0) / calls)
    if case.startswith('mlp-'):
        _, shape, oracle = case.split('-')
        sizes = [int(s) for s in shape.split('x')]
        net = get('mlp-' + shape, lambda: Mlp(sizes, cmd['batch']))
        f = dict(grad=net.grad, hvp=net.hvp, jvp=net.jvp)[oracle]
        calls = cmd['calls']
        t0 = clock()
        for _ in range(calls):
            f()
        return dict(seconds=(clock() - t0) / calls)
    raise ValueError('unknown case ' + case)


for line in sys.stdin:
    if not line.strip():
        continue
    try:
        out = run(json.loads(line))
    except Exception as e:  # reported to the caller, which prints it
        out = dict(error=f'{type(e).__name__}: {e}')
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
