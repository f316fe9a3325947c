// x ** y for floats, correctly rounded like the C library Python uses (V8's Math.pow can be one unit off).
'use strict';

// Double-double arithmetic (a value is [hi, lo] with |lo| <= ulp(hi) / 2): ln(x) and exp() to about 104 bits,
// so x ** y = exp(y * ln(x)) rounds to the nearest double except in astronomically rare cases.

const SPLITTER = 134217729; // 2**27 + 1

function twoSum(a, b) {
  const s = a + b;
  const bb = s - a;
  return [s, (a - (s - bb)) + (b - bb)];
}

function quickTwoSum(a, b) {
  const s = a + b;
  return [s, b - (s - a)];
}

function split(a) {
  const t = SPLITTER * a;
  const hi = t - (t - a);
  return [hi, a - hi];
}

function twoProd(a, b) {
  const p = a * b;
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return [p, ((ah * bh - p) + ah * bl + al * bh) + al * bl];
}

function add(a, b) {
  const [s1, s2] = twoSum(a[0], b[0]);
  const [t1, t2] = twoSum(a[1], b[1]);
  let [hi, lo] = quickTwoSum(s1, s2 + t1);
  [hi, lo] = quickTwoSum(hi, lo + t2);
  return [hi, lo];
}

function mul(a, b) {
  const [p, e] = twoProd(a[0], b[0]);
  return quickTwoSum(p, e + (a[0] * b[1] + a[1] * b[0]));
}

function mulNumber(a, b) {
  const [p, e] = twoProd(a[0], b);
  return quickTwoSum(p, e + a[1] * b);
}

function divNumber(a, b) {
  const q1 = a[0] / b;
  const [p, e] = twoProd(q1, b);
  const [s, t] = twoSum(a[0], -p);
  const q2 = (s + (t - e + a[1])) / b;
  return quickTwoSum(q1, q2);
}

const LN2 = [0.6931471805599453, 2.3190468138462996e-17];
const INVERSE_FACTORIALS = [];
{
  let term = [1, 0];
  for (let k = 1; k <= 12; k += 1) {
    term = divNumber(term, k);
    INVERSE_FACTORIALS.push(term);
  }
}

// exp(a) for a double-double a with |a| < 710: [mantissa part as double-double, power of two].
function exp(a) {
  const k = Math.round(a[0] / LN2[0]);
  let r = add(a, mulNumber(LN2, -k));
  r = [r[0] / 1024, r[1] / 1024];
  let sum = r;
  let power = r;
  for (let i = 1; i < 11; i += 1) {
    power = mul(power, r);
    sum = add(sum, mul(power, INVERSE_FACTORIALS[i]));
  }
  for (let i = 0; i < 10; i += 1) sum = add(mulNumber(sum, 2), mul(sum, sum)); // (1 + s)**2 - 1
  return [add(sum, [1, 0]), k];
}

// ln(x) for a finite double x > 0, as a double-double.
function log(x) {
  let exponent = Math.floor(Math.log2(x));
  let m = x * 2 ** -exponent;
  if (!Number.isFinite(m) || m === 0) { // 2 ** -exponent overflowed (subnormal x): scale in two steps
    m = (x * 2 ** 600) * 2 ** (-exponent - 600);
  }
  if (m < Math.SQRT1_2) {
    m *= 2;
    exponent -= 1;
  } else if (m >= Math.SQRT2) {
    m /= 2;
    exponent += 1;
  }
  const x0 = Math.log(m);
  const [e, k] = exp([-x0, 0]);
  const scaled = mulNumber([e[0] * 2 ** k, e[1] * 2 ** k], m); // m * exp(-x0), close to 1
  const lnM = add([x0, 0], add(scaled, [-1, 0])); // Newton step: x0 + m * exp(-x0) - 1
  return add(mulNumber(LN2, exponent), lnM);
}

// x ** y for finite x > 0 and finite y (the special cases are the caller's).
function pow(x, y) {
  if (x === 1 || y === 0) return 1;
  if (y === 1) return x;
  const t = mulNumber(log(x), y);
  if (t[0] > 710) return Infinity;
  if (t[0] < -746) return 0;
  const [mantissa, k] = exp(t);
  const value = mantissa[0] + mantissa[1];
  if (k > 1000) return (value * 2 ** (k - 1000)) * 2 ** 1000;
  if (k < -1000) return (value * 2 ** (k + 1000)) * 2 ** -1000;
  return value * 2 ** k;
}

module.exports = { pow };
