import { cifar10Synthetic } from './src/data/cifar10-synthetic.ts';
import { imageRows } from './src/data/image-source.ts';
import { CIFAR10_TRANSFORM } from './src/data/cifar10.ts';
import { gatherGemm, gatherGemmTAcc } from './src/linalg/matrix.ts';
import { softmaxCrossEntropyInPlace, subtractOneHot, countCorrect } from './src/linalg/softmax.ts';
const N = 3000, T = 1000;
const s = cifar10Synthetic({ trainSize: N, testSize: T });
const tr = imageRows(s.train, Array.from({length:N},(_, i)=>i), CIFAR10_TRANSFORM);
const te = imageRows(s.test, Array.from({length:T},(_, i)=>i), CIFAR10_TRANSFORM);
const d = 3072, c = 10;
const W = new Float64Array(d*c), sc = new Float64Array(d*c), G = new Float64Array(d*c);
const P = new Float64Array(N*c), Q = new Float64Array(T*c);
for (let it = 0; it <= 150; it++) {
  gatherGemm(P, tr.features, d, null, N, W, c, sc);
  const loss = softmaxCrossEntropyInPlace(P, N, c, tr.labels, null);
  subtractOneHot(P, N, c, tr.labels, null);
  G.fill(0); gatherGemmTAcc(G, tr.features, d, null, N, P, c, 1/N, sc);
  for (let k = 0; k < d*c; k++) W[k] -= 0.02*(G[k]! + 1e-2*W[k]!);
  if (it % 50 === 0) { gatherGemm(Q, te.features, d, null, T, W, c, sc); console.log(process.env.NUIS, it, (loss/N).toFixed(3), 'test', countCorrect(Q, T, c, te.labels, null)/T); }
}
