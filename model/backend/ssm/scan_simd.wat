;; Selective scan forward and backward with WebAssembly SIMD (f32x4).
;;
;; Assembled by model/ssm/build_wasm.ts (npm:wabt) into scan_simd_wasm.ts;
;; model/ssm/scan_wasm.ts lays the inputs out in this module's memory and
;; calls the exports. All pointers are byte offsets; four channels d are
;; processed per vector, so the channel count Dp is padded to a multiple of
;; 4 (padded lanes carry zeros and stay zero).
;;
;; Layouts: u, delta, y, dy, gu, gdelta [B, L, Dp]; B, C, gB, gC [B, L, N];
;; At, gAt [N, Dp] (A transposed); D, bias, gD, gBias [Dp].
;; Scratch (backward): hs [(L+1), N, Dp] (slot 0 zero, slot t+1 = h_t),
;; es [L, N, Dp] (exp(Δ·A)), dts [L, Dp] (Δ), gh [N, Dp], acc [2N] vectors.
(module
  (memory (export "memory") 1)

  ;; exp(x): Cody-Waite reduction x = k·ln2 + r, |r| ≤ ln2/2, and
  ;; exp(r) ≈ 1 + r + r²·q(r) with a cubic q fitted (Chebyshev-weighted least
  ;; squares, see model/ssm/testdata/gen_exp_poly.py) for relative error
  ;; 1.7e-7 in float32 arithmetic; lanes below
  ;; -87.3 return 0, above 88.3 are clamped. k = round(x·log2 e) comes from
  ;; the float add of 1.5·2^23 (round-to-nearest-even, integer k in the low
  ;; mantissa bits), which also gives 2^k's bits with one add and a shift.
  (func $exp4 (param $x v128) (result v128)
    (local $t v128) (local $k v128) (local $r v128) (local $p v128) (local $under v128)
    (local.set $under
      (f32x4.lt (local.get $x) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3)))
    (local.set $x
      (f32x4.min
        (f32x4.max (local.get $x) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3))
        (v128.const f32x4 88.3 88.3 88.3 88.3)))
    (local.set $t
      (f32x4.add
        (f32x4.mul (local.get $x)
          (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
        (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $k (f32x4.sub (local.get $t) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $r
      (f32x4.add
        (f32x4.sub (local.get $x)
          (f32x4.mul (local.get $k) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $k) (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4))))
    (local.set $p (v128.const f32x4 0.008333837613463402 0.008333837613463402 0.008333837613463402 0.008333837613463402))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
      (v128.const f32x4 0.04189857840538025 0.04189857840538025 0.04189857840538025 0.04189857840538025)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
      (v128.const f32x4 0.1666688621044159 0.1666688621044159 0.1666688621044159 0.1666688621044159)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
      (v128.const f32x4 0.49999141693115234 0.49999141693115234 0.49999141693115234 0.49999141693115234)))
    ;; p·r² + r + 1
    (local.set $p
      (f32x4.add
        (f32x4.add
          (f32x4.mul (local.get $p) (f32x4.mul (local.get $r) (local.get $r)))
          (local.get $r))
        (v128.const f32x4 1 1 1 1)))
    ;; · 2^k: bits(t) = bits(1.5·2^23) + k = 0x4B400000 + k, so
    ;; (bits(t) − 0x4B400000 + 127) << 23 are the bits of 2^k; then zero the
    ;; underflowing lanes.
    (v128.andnot
      (f32x4.mul (local.get $p)
        (i32x4.shl
          (i32x4.add (local.get $t)
            (v128.const i32x4 -1262485377 -1262485377 -1262485377 -1262485377))
          (i32.const 23)))
      (local.get $under)))

  ;; softplus(z) = max(z, 0) + log1p(exp(−|z|)); log1p(e) = 2·atanh(s),
  ;; s = e / (2 + e) ≤ 1/3, by its odd series to s^13.
  (func $softplus4 (param $z v128) (result v128)
    (local $e v128) (local $s v128) (local $s2 v128) (local $p v128)
    (local.set $e (call $exp4 (f32x4.neg (f32x4.abs (local.get $z)))))
    (local.set $s (f32x4.div (local.get $e)
      (f32x4.add (local.get $e) (v128.const f32x4 2 2 2 2))))
    (local.set $s2 (f32x4.mul (local.get $s) (local.get $s)))
    (local.set $p (v128.const f32x4 0.153846154 0.153846154 0.153846154 0.153846154))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s2))
      (v128.const f32x4 0.181818182 0.181818182 0.181818182 0.181818182)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s2))
      (v128.const f32x4 0.222222222 0.222222222 0.222222222 0.222222222)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s2))
      (v128.const f32x4 0.285714286 0.285714286 0.285714286 0.285714286)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s2))
      (v128.const f32x4 0.4 0.4 0.4 0.4)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s2))
      (v128.const f32x4 0.666666667 0.666666667 0.666666667 0.666666667)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s2))
      (v128.const f32x4 2 2 2 2)))
    (f32x4.add
      (f32x4.max (local.get $z) (v128.const f32x4 0 0 0 0))
      (f32x4.mul (local.get $p) (local.get $s))))

  ;; sum of the four lanes
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; zero `bytes` bytes (a multiple of 16) at `p`
  (func $zero (param $p i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $bytes)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store (local.get $p) (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $l))))

  ;; Δ for the four channels at byte offset `dq` of row `row`
  (func $delta4 (param $softplus i32) (param $pDelta i32) (param $pBias i32)
      (param $row i32) (param $dq i32) (result v128)
    (local $z v128)
    (local.set $z
      (f32x4.add
        (v128.load (i32.add (local.get $pDelta) (i32.add (local.get $row) (local.get $dq))))
        (v128.load (i32.add (local.get $pBias) (local.get $dq)))))
    (if (result v128) (local.get $softplus)
      (then (call $softplus4 (local.get $z)))
      (else (local.get $z))))

  ;; y = scan(u, delta, A, B, C, D, bias); `pH` is scratch of N·Dp floats.
  (func (export "forward")
      (param $nb i32) (param $nl i32) (param $dp i32) (param $ns i32) (param $softplus i32)
      (param $pU i32) (param $pDelta i32) (param $pAt i32) (param $pB i32) (param $pC i32)
      (param $pD i32) (param $pBias i32) (param $pY i32) (param $pH i32)
    (local $b i32) (local $t i32) (local $dq i32) (local $n i32)
    (local $rowD i32) (local $rowN i32) (local $dpb i32) (local $k i32)
    (local $dt v128) (local $uu v128) (local $dtu v128) (local $acc v128)
    (local $hv v128)
    (local.set $dpb (i32.shl (local.get $dp) (i32.const 2)))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $nb)))
      (call $zero (local.get $pH) (i32.mul (local.get $ns) (local.get $dpb)))
      (local.set $t (i32.const 0))
      (block $tdone (loop $tl
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $nl)))
        (local.set $rowD (i32.mul (i32.add (i32.mul (local.get $b) (local.get $nl)) (local.get $t)) (local.get $dpb)))
        (local.set $rowN (i32.shl (i32.mul (i32.add (i32.mul (local.get $b) (local.get $nl)) (local.get $t)) (local.get $ns)) (i32.const 2)))
        (local.set $dq (i32.const 0))
        (block $ddone (loop $dl
          (br_if $ddone (i32.ge_u (local.get $dq) (local.get $dpb)))
          (local.set $dt (call $delta4 (local.get $softplus) (local.get $pDelta) (local.get $pBias) (local.get $rowD) (local.get $dq)))
          (local.set $uu (v128.load (i32.add (local.get $pU) (i32.add (local.get $rowD) (local.get $dq)))))
          (local.set $dtu (f32x4.mul (local.get $dt) (local.get $uu)))
          (local.set $acc (v128.const f32x4 0 0 0 0))
          (local.set $n (i32.const 0))
          (local.set $k (local.get $dq))
          (block $ndone (loop $nl2
            (br_if $ndone (i32.ge_u (local.get $n) (local.get $ns)))
            (local.set $hv
              (f32x4.add
                (f32x4.mul
                  (call $exp4 (f32x4.mul (local.get $dt) (v128.load (i32.add (local.get $pAt) (local.get $k)))))
                  (v128.load (i32.add (local.get $pH) (local.get $k))))
                (f32x4.mul (local.get $dtu)
                  (v128.load32_splat (i32.add (local.get $pB) (i32.add (local.get $rowN) (i32.shl (local.get $n) (i32.const 2))))))))
            (v128.store (i32.add (local.get $pH) (local.get $k)) (local.get $hv))
            (local.set $acc
              (f32x4.add (local.get $acc)
                (f32x4.mul (local.get $hv)
                  (v128.load32_splat (i32.add (local.get $pC) (i32.add (local.get $rowN) (i32.shl (local.get $n) (i32.const 2))))))))
            (local.set $k (i32.add (local.get $k) (local.get $dpb)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $nl2)))
          (v128.store (i32.add (local.get $pY) (i32.add (local.get $rowD) (local.get $dq)))
            (f32x4.add (local.get $acc)
              (f32x4.mul (local.get $uu) (v128.load (i32.add (local.get $pD) (local.get $dq))))))
          (local.set $dq (i32.add (local.get $dq) (i32.const 16)))
          (br $dl)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tl)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl))))

  ;; Gradients of all seven inputs given dy. The caller zeroes gAt, gD and
  ;; gBias (accumulated over b); everything else is overwritten.
  ;; `pS` is scratch: hs, es, dts, gh, acc (see the header for sizes).
  (func (export "backward")
      (param $nb i32) (param $nl i32) (param $dp i32) (param $ns i32) (param $softplus i32)
      (param $pU i32) (param $pDelta i32) (param $pAt i32) (param $pB i32) (param $pC i32)
      (param $pD i32) (param $pBias i32) (param $pDy i32)
      (param $pGU i32) (param $pGDelta i32) (param $pGAt i32) (param $pGB i32) (param $pGC i32)
      (param $pGD i32) (param $pGBias i32) (param $pS i32)
    (local $b i32) (local $t i32) (local $dq i32) (local $n i32)
    (local $rowD i32) (local $rowN i32) (local $dpb i32) (local $ndp i32) (local $k i32)
    (local $pHs i32) (local $pEs i32) (local $pDts i32) (local $pGh i32) (local $pAcc i32)
    (local $offH i32) (local $offE i32) (local $pn i32)
    (local $dt v128) (local $uu v128) (local $dtu v128) (local $e v128) (local $hv v128)
    (local $gy v128) (local $gu v128) (local $gdt v128) (local $ghk v128) (local $gE v128)
    (local $bn v128) (local $cn v128) (local $z v128) (local $gz v128) (local $gs v128)
    (local.set $dpb (i32.shl (local.get $dp) (i32.const 2)))
    (local.set $ndp (i32.mul (local.get $ns) (local.get $dpb)))
    (local.set $pHs (local.get $pS))
    (local.set $pEs (i32.add (local.get $pHs) (i32.mul (i32.add (local.get $nl) (i32.const 1)) (local.get $ndp))))
    (local.set $pDts (i32.add (local.get $pEs) (i32.mul (local.get $nl) (local.get $ndp))))
    (local.set $pGh (i32.add (local.get $pDts) (i32.mul (local.get $nl) (local.get $dpb))))
    (local.set $pAcc (i32.add (local.get $pGh) (local.get $ndp)))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $nb)))
      ;; forward recompute: hs[t+1], es[t], dts[t]
      (call $zero (local.get $pHs) (local.get $ndp))
      (local.set $t (i32.const 0))
      (block $tdone (loop $tl
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $nl)))
        (local.set $rowD (i32.mul (i32.add (i32.mul (local.get $b) (local.get $nl)) (local.get $t)) (local.get $dpb)))
        (local.set $rowN (i32.shl (i32.mul (i32.add (i32.mul (local.get $b) (local.get $nl)) (local.get $t)) (local.get $ns)) (i32.const 2)))
        (local.set $offH (i32.add (local.get $pHs) (i32.mul (local.get $t) (local.get $ndp))))
        (local.set $offE (i32.add (local.get $pEs) (i32.mul (local.get $t) (local.get $ndp))))
        (local.set $dq (i32.const 0))
        (block $ddone (loop $dl
          (br_if $ddone (i32.ge_u (local.get $dq) (local.get $dpb)))
          (local.set $dt (call $delta4 (local.get $softplus) (local.get $pDelta) (local.get $pBias) (local.get $rowD) (local.get $dq)))
          (v128.store (i32.add (local.get $pDts) (i32.add (i32.mul (local.get $t) (local.get $dpb)) (local.get $dq))) (local.get $dt))
          (local.set $dtu (f32x4.mul (local.get $dt)
            (v128.load (i32.add (local.get $pU) (i32.add (local.get $rowD) (local.get $dq))))))
          (local.set $n (i32.const 0))
          (local.set $k (local.get $dq))
          (block $ndone (loop $nl2
            (br_if $ndone (i32.ge_u (local.get $n) (local.get $ns)))
            (local.set $e (call $exp4 (f32x4.mul (local.get $dt) (v128.load (i32.add (local.get $pAt) (local.get $k))))))
            (local.set $hv
              (f32x4.add
                (f32x4.mul (local.get $e) (v128.load (i32.add (local.get $offH) (local.get $k))))
                (f32x4.mul (local.get $dtu)
                  (v128.load32_splat (i32.add (local.get $pB) (i32.add (local.get $rowN) (i32.shl (local.get $n) (i32.const 2))))))))
            (v128.store (i32.add (i32.add (local.get $offH) (local.get $ndp)) (local.get $k)) (local.get $hv))
            (v128.store (i32.add (local.get $offE) (local.get $k)) (local.get $e))
            (local.set $k (i32.add (local.get $k) (local.get $dpb)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $nl2)))
          (local.set $dq (i32.add (local.get $dq) (i32.const 16)))
          (br $dl)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tl)))
      ;; walk back in time
      (call $zero (local.get $pGh) (local.get $ndp))
      (local.set $t (local.get $nl))
      (block $tdone2 (loop $tl2
        (br_if $tdone2 (i32.eqz (local.get $t)))
        (local.set $t (i32.sub (local.get $t) (i32.const 1)))
        (local.set $rowD (i32.mul (i32.add (i32.mul (local.get $b) (local.get $nl)) (local.get $t)) (local.get $dpb)))
        (local.set $rowN (i32.shl (i32.mul (i32.add (i32.mul (local.get $b) (local.get $nl)) (local.get $t)) (local.get $ns)) (i32.const 2)))
        (local.set $offH (i32.add (local.get $pHs) (i32.mul (local.get $t) (local.get $ndp))))
        (local.set $offE (i32.add (local.get $pEs) (i32.mul (local.get $t) (local.get $ndp))))
        (call $zero (local.get $pAcc) (i32.shl (local.get $ns) (i32.const 5)))
        (local.set $dq (i32.const 0))
        (block $ddone2 (loop $dl2
          (br_if $ddone2 (i32.ge_u (local.get $dq) (local.get $dpb)))
          (local.set $gy (v128.load (i32.add (local.get $pDy) (i32.add (local.get $rowD) (local.get $dq)))))
          (local.set $uu (v128.load (i32.add (local.get $pU) (i32.add (local.get $rowD) (local.get $dq)))))
          (local.set $dt (v128.load (i32.add (local.get $pDts) (i32.add (i32.mul (local.get $t) (local.get $dpb)) (local.get $dq)))))
          (local.set $dtu (f32x4.mul (local.get $dt) (local.get $uu)))
          (v128.store (i32.add (local.get $pGD) (local.get $dq))
            (f32x4.add (v128.load (i32.add (local.get $pGD) (local.get $dq)))
              (f32x4.mul (local.get $gy) (local.get $uu))))
          (local.set $gu (f32x4.mul (local.get $gy) (v128.load (i32.add (local.get $pD) (local.get $dq)))))
          (local.set $gdt (v128.const f32x4 0 0 0 0))
          (local.set $gs (v128.const f32x4 0 0 0 0))
          (local.set $n (i32.const 0))
          (local.set $k (local.get $dq))
          (block $ndone2 (loop $nl3
            (br_if $ndone2 (i32.ge_u (local.get $n) (local.get $ns)))
            (local.set $pn (i32.add (local.get $rowN) (i32.shl (local.get $n) (i32.const 2))))
            (local.set $bn (v128.load32_splat (i32.add (local.get $pB) (local.get $pn))))
            (local.set $cn (v128.load32_splat (i32.add (local.get $pC) (local.get $pn))))
            ;; dL/dh_t
            (local.set $ghk (f32x4.add (v128.load (i32.add (local.get $pGh) (local.get $k)))
              (f32x4.mul (local.get $gy) (local.get $cn))))
            ;; C accumulator n += gy · h_t
            (local.set $pn (i32.add (local.get $pAcc) (i32.shl (local.get $n) (i32.const 5))))
            (v128.store (local.get $pn)
              (f32x4.add (v128.load (local.get $pn))
                (f32x4.mul (local.get $gy)
                  (v128.load (i32.add (i32.add (local.get $offH) (local.get $ndp)) (local.get $k))))))
            ;; B accumulator n += ghk · Δ·u
            (v128.store offset=16 (local.get $pn)
              (f32x4.add (v128.load offset=16 (local.get $pn))
                (f32x4.mul (local.get $ghk) (local.get $dtu))))
            (local.set $e (v128.load (i32.add (local.get $offE) (local.get $k))))
            (local.set $gE (f32x4.mul (f32x4.mul (local.get $ghk) (local.get $e))
              (v128.load (i32.add (local.get $offH) (local.get $k)))))
            (v128.store (i32.add (local.get $pGAt) (local.get $k))
              (f32x4.add (v128.load (i32.add (local.get $pGAt) (local.get $k)))
                (f32x4.mul (local.get $gE) (local.get $dt))))
            ;; gdt collects Σ gE·A here, gs collects Σ dL/dh_t·B (used for
            ;; both dΔ (·u) and du (·Δ) after the loop)
            (local.set $gdt
              (f32x4.add (local.get $gdt)
                (f32x4.mul (local.get $gE) (v128.load (i32.add (local.get $pAt) (local.get $k))))))
            (local.set $gs (f32x4.add (local.get $gs)
              (f32x4.mul (local.get $ghk) (local.get $bn))))
            (v128.store (i32.add (local.get $pGh) (local.get $k)) (f32x4.mul (local.get $ghk) (local.get $e)))
            (local.set $k (i32.add (local.get $k) (local.get $dpb)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $nl3)))
          (local.set $gdt (f32x4.add (local.get $gdt) (f32x4.mul (local.get $gs) (local.get $uu))))
          (local.set $gu (f32x4.add (local.get $gu) (f32x4.mul (local.get $gs) (local.get $dt))))
          (local.set $gz (local.get $gdt))
          (if (local.get $softplus)
            (then
              (local.set $z
                (f32x4.add
                  (v128.load (i32.add (local.get $pDelta) (i32.add (local.get $rowD) (local.get $dq))))
                  (v128.load (i32.add (local.get $pBias) (local.get $dq)))))
              ;; · sigmoid(z) = 1 / (1 + exp(−z))
              (local.set $gz
                (f32x4.div (local.get $gdt)
                  (f32x4.add (v128.const f32x4 1 1 1 1)
                    (call $exp4 (f32x4.neg (local.get $z))))))))
          (v128.store (i32.add (local.get $pGU) (i32.add (local.get $rowD) (local.get $dq))) (local.get $gu))
          (v128.store (i32.add (local.get $pGDelta) (i32.add (local.get $rowD) (local.get $dq))) (local.get $gz))
          (v128.store (i32.add (local.get $pGBias) (local.get $dq))
            (f32x4.add (v128.load (i32.add (local.get $pGBias) (local.get $dq))) (local.get $gz)))
          (local.set $dq (i32.add (local.get $dq) (i32.const 16)))
          (br $dl2)))
        ;; reduce the B and C accumulators over the four lanes
        (local.set $n (i32.const 0))
        (block $rdone (loop $rl
          (br_if $rdone (i32.ge_u (local.get $n) (local.get $ns)))
          (local.set $pn (i32.add (local.get $pAcc) (i32.shl (local.get $n) (i32.const 5))))
          (f32.store (i32.add (local.get $pGC) (i32.add (local.get $rowN) (i32.shl (local.get $n) (i32.const 2))))
            (call $hsum (v128.load (local.get $pn))))
          (f32.store (i32.add (local.get $pGB) (i32.add (local.get $rowN) (i32.shl (local.get $n) (i32.const 2))))
            (call $hsum (v128.load offset=16 (local.get $pn))))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br $rl)))
        (br $tl2)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl))))
)
