"""NumPy reference of the logistic-HPO oracles (same computation as
src/problems/logreg-hpo.ts): full-batch ∇_Y g and HVP of multinomial logistic
regression with the per-feature regularizer, on random data of the given
size. Prints one JSON line of median milliseconds."""
import json, sys, time
import numpy as np

n, d, c, reps = (int(a) for a in sys.argv[1:5])
rng = np.random.default_rng(1)
A = rng.standard_normal((n, d))
labels = rng.integers(0, c, n)
B = np.eye(c)[labels]
Y = 0.01 * rng.standard_normal((d, c))
V = rng.standard_normal((d, c))
x = 0.1 * rng.standard_normal(d)
reg = 1.0 / (c * d)

def softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)

def grad():
    S = softmax(A @ Y)
    return A.T @ (S - B) / n + 2 * reg * np.exp(x)[:, None] * Y

def hvp():
    S = softmax(A @ Y)
    U = A @ V
    R = S * U - S * (S * U).sum(axis=1, keepdims=True)
    return A.T @ R / n + 2 * reg * np.exp(x)[:, None] * V

def median_ms(f):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter(); f(); times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))

print(json.dumps({"grad": median_ms(grad), "hvp": median_ms(hvp)}))
