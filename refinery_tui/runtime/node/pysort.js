// CPython's list.sort (3.11 - 3.13 timsort, powersort merges), comparison for comparison, for sorted().
'use strict';

// Same comparisons in the same order, so inconsistent orders (NaN) and errors between mixed types come out the same.

const { PYTHON, order } = require('./pyvalues');


const MIN_GALLOP = 7;

function reverseRange(a, lo, hi) {
  for (let i = lo, j = hi - 1; i < j; i += 1, j -= 1) [a[i], a[j]] = [a[j], a[i]];
}

// The natural run starting at lo, made ascending in place; its length. Python 3.11 / 3.12.
function countRun(a, lo, hi, lt) {
  if (lo + 1 === hi) return 1;
  let n = 2;
  if (lt(a[lo + 1], a[lo])) {
    for (let i = lo + 2; i < hi && lt(a[i], a[i - 1]); i += 1) n += 1;
    reverseRange(a, lo, lo + n);
    return n;
  }
  for (let i = lo + 2; i < hi && !lt(a[i], a[i - 1]); i += 1) n += 1;
  return n;
}

// Python 3.13: descending runs may hold runs of equal elements (kept stable), and may go on ascending.
function countRun313(a, lo, hi, lt) {
  const remaining = hi - lo;
  const at = (i) => a[lo + i];
  let n = 1;
  for (; n < remaining; n += 1) if (lt(at(n), at(n - 1))) break;
  if (n === remaining) return n;
  if (n > 1) {
    if (lt(at(0), at(n - 1))) return n;
    reverseRange(a, lo, lo + n);
  }
  n += 1;
  let neq = 0;
  const reverseLastEqual = () => {
    if (neq) {
      neq += 1;
      reverseRange(a, lo + n - neq, lo + n);
      neq = 0;
    }
  };
  for (; n < remaining; n += 1) {
    if (lt(at(n), at(n - 1))) reverseLastEqual();
    else if (lt(at(n - 1), at(n))) break;
    else neq += 1;
  }
  reverseLastEqual();
  reverseRange(a, lo, lo + n);
  for (; n < remaining; n += 1) if (lt(at(n), at(n - 1))) break;
  return n;
}

function binarySort(a, lo, hi, startAt, lt) {
  let start = startAt === lo ? startAt + 1 : startAt;
  for (; start < hi; start += 1) {
    const pivot = a[start];
    let l = lo;
    let r = start;
    do {
      const p = l + ((r - l) >> 1);
      if (lt(pivot, a[p])) r = p;
      else l = p + 1;
    } while (l < r);
    for (let p = start; p > l; p -= 1) a[p] = a[p - 1];
    a[l] = pivot;
  }
}

// Where key goes in the sorted a[base .. base+n): k with a[k-1] < key <= a[k] (left) or a[k-1] <= key < a[k].
function gallopLeft(key, a, base, n, hint, lt) {
  let lastofs = 0;
  let ofs = 1;
  if (lt(a[base + hint], key)) {
    const maxofs = n - hint;
    while (ofs < maxofs) {
      if (lt(a[base + hint + ofs], key)) {
        lastofs = ofs;
        ofs = (ofs << 1) + 1;
      } else break;
    }
    if (ofs > maxofs) ofs = maxofs;
    lastofs += hint;
    ofs += hint;
  } else {
    const maxofs = hint + 1;
    while (ofs < maxofs) {
      if (lt(a[base + hint - ofs], key)) break;
      lastofs = ofs;
      ofs = (ofs << 1) + 1;
    }
    if (ofs > maxofs) ofs = maxofs;
    const k = lastofs;
    lastofs = hint - ofs;
    ofs = hint - k;
  }
  lastofs += 1;
  while (lastofs < ofs) {
    const m = lastofs + ((ofs - lastofs) >> 1);
    if (lt(a[base + m], key)) lastofs = m + 1;
    else ofs = m;
  }
  return ofs;
}

function gallopRight(key, a, base, n, hint, lt) {
  let lastofs = 0;
  let ofs = 1;
  if (lt(key, a[base + hint])) {
    const maxofs = hint + 1;
    while (ofs < maxofs) {
      if (lt(key, a[base + hint - ofs])) {
        lastofs = ofs;
        ofs = (ofs << 1) + 1;
      } else break;
    }
    if (ofs > maxofs) ofs = maxofs;
    const k = lastofs;
    lastofs = hint - ofs;
    ofs = hint - k;
  } else {
    const maxofs = n - hint;
    while (ofs < maxofs) {
      if (lt(key, a[base + hint + ofs])) break;
      lastofs = ofs;
      ofs = (ofs << 1) + 1;
    }
    if (ofs > maxofs) ofs = maxofs;
    lastofs += hint;
    ofs += hint;
  }
  lastofs += 1;
  while (lastofs < ofs) {
    const m = lastofs + ((ofs - lastofs) >> 1);
    if (lt(key, a[base + m])) ofs = m;
    else lastofs = m + 1;
  }
  return ofs;
}

class MergeState {
  constructor(a, lt) {
    this.a = a;
    this.lt = lt;
    this.minGallop = MIN_GALLOP;
    this.pending = []; // {base, len, power}
  }

  // Merge a[pa .. pa+na) and a[pb .. pb+nb) (adjacent, na <= nb) from the left.
  mergeLo(pa, na, pb, nb) {
    const { a, lt } = this;
    const tmp = a.slice(pa, pa + na);
    let ia = 0;
    let ib = pb;
    let dest = pa;
    let minGallop = this.minGallop;
    a[dest++] = a[ib++];
    nb -= 1;
    const finish = () => {
      for (let k = 0; k < na; k += 1) a[dest + k] = tmp[ia + k];
    };
    const copyB = () => {
      for (let k = 0; k < nb; k += 1) a[dest + k] = a[ib + k];
      a[dest + nb] = tmp[ia];
    };
    try {
      if (nb === 0) { finish(); return; }
      if (na === 1) { copyB(); return; }
      for (;;) {
        let acount = 0;
        let bcount = 0;
        for (;;) {
          if (lt(a[ib], tmp[ia])) {
            a[dest++] = a[ib++];
            bcount += 1;
            acount = 0;
            nb -= 1;
            if (nb === 0) { finish(); return; }
            if (bcount >= minGallop) break;
          } else {
            a[dest++] = tmp[ia++];
            acount += 1;
            bcount = 0;
            na -= 1;
            if (na === 1) { copyB(); return; }
            if (acount >= minGallop) break;
          }
        }
        minGallop += 1;
        do {
          minGallop -= minGallop > 1 ? 1 : 0;
          this.minGallop = minGallop;
          let k = gallopRight(a[ib], tmp, ia, na, 0, lt);
          acount = k;
          if (k) {
            for (let j = 0; j < k; j += 1) a[dest + j] = tmp[ia + j];
            dest += k;
            ia += k;
            na -= k;
            if (na === 1) { copyB(); return; }
            if (na === 0) { finish(); return; }
          }
          a[dest++] = a[ib++];
          nb -= 1;
          if (nb === 0) { finish(); return; }
          k = gallopLeft(tmp[ia], a, ib, nb, 0, lt);
          bcount = k;
          if (k) {
            for (let j = 0; j < k; j += 1) a[dest + j] = a[ib + j];
            dest += k;
            ib += k;
            nb -= k;
            if (nb === 0) { finish(); return; }
          }
          a[dest++] = tmp[ia++];
          na -= 1;
          if (na === 1) { copyB(); return; }
        } while (acount >= MIN_GALLOP || bcount >= MIN_GALLOP);
        minGallop += 1;
        this.minGallop = minGallop;
      }
    } catch (error) {
      finish();
      throw error;
    }
  }

  // Merge a[pa .. pa+na) and a[pb .. pb+nb) (adjacent, na > nb) from the right.
  mergeHi(pa, na, pb, nb) {
    const { a, lt } = this;
    const tmp = a.slice(pb, pb + nb);
    let ia = pa + na - 1;
    let ib = nb - 1;
    let dest = pb + nb - 1;
    let minGallop = this.minGallop;
    a[dest--] = a[ia--];
    na -= 1;
    const finish = () => {
      for (let k = 0; k < nb; k += 1) a[dest - (nb - 1) + k] = tmp[k];
    };
    const copyA = () => {
      dest -= na;
      ia -= na;
      for (let k = na; k >= 1; k -= 1) a[dest + k] = a[ia + k];
      a[dest] = tmp[ib];
    };
    try {
      if (na === 0) { finish(); return; }
      if (nb === 1) { copyA(); return; }
      for (;;) {
        let acount = 0;
        let bcount = 0;
        for (;;) {
          if (lt(tmp[ib], a[ia])) {
            a[dest--] = a[ia--];
            acount += 1;
            bcount = 0;
            na -= 1;
            if (na === 0) { finish(); return; }
            if (acount >= minGallop) break;
          } else {
            a[dest--] = tmp[ib--];
            bcount += 1;
            acount = 0;
            nb -= 1;
            if (nb === 1) { copyA(); return; }
            if (bcount >= minGallop) break;
          }
        }
        minGallop += 1;
        do {
          minGallop -= minGallop > 1 ? 1 : 0;
          this.minGallop = minGallop;
          let k = gallopRight(tmp[ib], a, pa, na, na - 1, lt);
          k = na - k;
          acount = k;
          if (k) {
            dest -= k;
            ia -= k;
            for (let j = k; j >= 1; j -= 1) a[dest + j] = a[ia + j];
            na -= k;
            if (na === 0) { finish(); return; }
          }
          a[dest--] = tmp[ib--];
          nb -= 1;
          if (nb === 1) { copyA(); return; }
          k = gallopLeft(a[ia], tmp, 0, nb, nb - 1, lt);
          k = nb - k;
          bcount = k;
          if (k) {
            dest -= k;
            ib -= k;
            for (let j = 1; j <= k; j += 1) a[dest + j] = tmp[ib + j];
            nb -= k;
            if (nb === 1) { copyA(); return; }
            if (nb === 0) { finish(); return; }
          }
          a[dest--] = a[ia--];
          na -= 1;
          if (na === 0) { finish(); return; }
        } while (acount >= MIN_GALLOP || bcount >= MIN_GALLOP);
        minGallop += 1;
        this.minGallop = minGallop;
      }
    } catch (error) {
      finish();
      throw error;
    }
  }

  mergeAt(i) {
    const { a, lt, pending } = this;
    let { base: pa, len: na } = pending[i];
    const { base: pb } = pending[i + 1];
    let nb = pending[i + 1].len;
    pending[i].len = na + nb;
    pending.splice(i + 1, 1);
    const k = gallopRight(a[pb], a, pa, na, 0, lt);
    pa += k;
    na -= k;
    if (na === 0) return;
    nb = gallopLeft(a[pa + na - 1], a, pb, nb, nb - 1, lt);
    if (nb <= 0) return;
    if (na <= nb) this.mergeLo(pa, na, pb, nb);
    else this.mergeHi(pa, na, pb, nb);
  }

  foundNewRun(n2, length) {
    const { pending } = this;
    if (!pending.length) return;
    const top = pending[pending.length - 1];
    const power = powerLoop(top.base, top.len, n2, length);
    while (pending.length > 1 && pending[pending.length - 2].power > power) this.mergeAt(pending.length - 2);
    pending[pending.length - 1].power = power;
  }

  forceCollapse() {
    const { pending } = this;
    while (pending.length > 1) {
      let n = pending.length - 2;
      if (n > 0 && pending[n - 1].len < pending[n + 1].len) n -= 1;
      this.mergeAt(n);
    }
  }
}

// The depth in the powersort merge tree of the boundary between runs [s1, s1+n1) and [s1+n1, s1+n1+n2).
function powerLoop(s1, n1, n2, n) {
  let result = 0;
  let a = 2 * s1 + n1;
  let b = a + n1 + n2;
  for (;;) {
    result += 1;
    if (a >= n) {
      a -= n;
      b -= n;
    } else if (b >= n) break;
    a *= 2;
    b *= 2;
  }
  return result;
}

function computeMinrun(length) {
  let n = length;
  let r = 0;
  while (n >= 64) {
    r |= n & 1;
    n >>= 1;
  }
  return n + r;
}

function timsort(a, lt) {
  const length = a.length;
  if (length < 2) return;
  const state = new MergeState(a, lt);
  const minrun = computeMinrun(length);
  let lo = 0;
  let remaining = length;
  do {
    let n = (PYTHON.minor >= 13 ? countRun313 : countRun)(a, lo, lo + remaining, lt);
    if (n < minrun) {
      const force = remaining <= minrun ? remaining : minrun;
      binarySort(a, lo, lo + force, lo + n, lt);
      n = force;
    }
    state.foundNewRun(n, length);
    state.pending.push({ base: lo, len: n, power: 0 });
    lo += n;
    remaining -= n;
  } while (remaining);
  state.forceCollapse();
}

function sortValues(values, reverse) {
  const a = values.slice();
  if (reverse) a.reverse();
  timsort(a, (x, y) => order('<', x, y));
  if (reverse) a.reverse();
  return a;
}

module.exports = { sortValues };
