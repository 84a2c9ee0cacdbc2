;; TV-L1 inner iterations (OpenCV tvl1flow.cpp: estimateV, divergence,
;; estimateU, forwardGradient, estimateDualVariables) in WebAssembly SIMD,
;; four pixels per f32x4, in float32 arithmetic evaluated in OpenCV's order
;; (no fused multiply-add), with the Σ|Δu|² stopping sum accumulated
;; sequentially in float32 as OpenCV's scalar loop does, and |∇u| computed in
;; float64 like OpenCV's hypot. Built by data/flow/build_wasm.ts.
;;
;; Layout (byte offsets set by $setup): u1, u2, i1wx, i1wy, grad, rho are
;; w×h row-major float32; p11, p12, p21, p22 have one zero column on the left
;; and one zero row on top (stride w + 1, pixel (x, y) at (y+1)(w+1) + x + 1).
(module
  (memory (export "memory") 1)

  (global $w (mut i32) (i32.const 0))
  (global $h (mut i32) (i32.const 0))
  (global $lt (mut f32) (f32.const 0))
  (global $theta (mut f32) (f32.const 0))
  (global $taut (mut f32) (f32.const 0))
  (global $i1wx (mut i32) (i32.const 0))
  (global $i1wy (mut i32) (i32.const 0))
  (global $grad (mut i32) (i32.const 0))
  (global $rho (mut i32) (i32.const 0))
  (global $u1 (mut i32) (i32.const 0))
  (global $u2 (mut i32) (i32.const 0))
  (global $p11 (mut i32) (i32.const 0))
  (global $p12 (mut i32) (i32.const 0))
  (global $p21 (mut i32) (i32.const 0))
  (global $p22 (mut i32) (i32.const 0))

  (func (export "setup")
    (param $w i32) (param $h i32) (param $lt f32) (param $theta f32) (param $taut f32)
    (param $i1wx i32) (param $i1wy i32) (param $grad i32) (param $rho i32)
    (param $u1 i32) (param $u2 i32)
    (param $p11 i32) (param $p12 i32) (param $p21 i32) (param $p22 i32)
    (global.set $w (local.get $w))
    (global.set $h (local.get $h))
    (global.set $lt (local.get $lt))
    (global.set $theta (local.get $theta))
    (global.set $taut (local.get $taut))
    (global.set $i1wx (local.get $i1wx))
    (global.set $i1wy (local.get $i1wy))
    (global.set $grad (local.get $grad))
    (global.set $rho (local.get $rho))
    (global.set $u1 (local.get $u1))
    (global.set $u2 (local.get $u2))
    (global.set $p11 (local.get $p11))
    (global.set $p12 (local.get $p12))
    (global.set $p21 (local.get $p21))
    (global.set $p22 (local.get $p22)))

  ;; float32 hypot as OpenCV computes it: (float)hypot((double)a, (double)b)
  (func $hypot (param $a f32) (param $b f32) (result f32)
    (local $x f64) (local $y f64)
    (local.set $x (f64.promote_f32 (local.get $a)))
    (local.set $y (f64.promote_f32 (local.get $b)))
    (f32.demote_f64
      (f64.sqrt (f64.add (f64.mul (local.get $x) (local.get $x))
                         (f64.mul (local.get $y) (local.get $y))))))

  ;; the same on four lanes
  (func $hypot4 (param $a v128) (param $b v128) (result v128)
    (local $alo v128) (local $blo v128) (local $ahi v128) (local $bhi v128)
    (local.set $alo (f64x2.promote_low_f32x4 (local.get $a)))
    (local.set $blo (f64x2.promote_low_f32x4 (local.get $b)))
    (local.set $ahi (f64x2.promote_low_f32x4
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a) (local.get $a))))
    (local.set $bhi (f64x2.promote_low_f32x4
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $b) (local.get $b))))
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero
        (f64x2.sqrt (f64x2.add (f64x2.mul (local.get $alo) (local.get $alo))
                               (f64x2.mul (local.get $blo) (local.get $blo)))))
      (f32x4.demote_f64x2_zero
        (f64x2.sqrt (f64x2.add (f64x2.mul (local.get $ahi) (local.get $ahi))
                               (f64x2.mul (local.get $bhi) (local.get $bhi)))))))

  ;; dual update of one component at one pixel: pa, pb at byte offsets
  (func $dual_px (param $ax f32) (param $ay f32) (param $pa i32) (param $pb i32)
    (local $ng f32)
    (local.set $ng (f32.add (f32.const 1)
      (f32.mul (global.get $taut) (call $hypot (local.get $ax) (local.get $ay)))))
    (f32.store (local.get $pa)
      (f32.div (f32.add (f32.load (local.get $pa)) (f32.mul (global.get $taut) (local.get $ax)))
               (local.get $ng)))
    (f32.store (local.get $pb)
      (f32.div (f32.add (f32.load (local.get $pb)) (f32.mul (global.get $taut) (local.get $ay)))
               (local.get $ng))))

  ;; forward gradient of u at pixel index i (x, y) for the dual step
  (func $dual_scalar (param $x i32) (param $y i32)
    (local $i i32) (local $j i32) (local $w i32) (local $a f32) (local $c f32)
    (local $ax f32) (local $ay f32) (local $cx f32) (local $cy f32)
    (local.set $w (global.get $w))
    (local.set $i (i32.shl (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)) (i32.const 2)))
    (local.set $j (i32.shl (i32.add (i32.mul (i32.add (local.get $y) (i32.const 1))
                                            (i32.add (local.get $w) (i32.const 1)))
                                    (i32.add (local.get $x) (i32.const 1))) (i32.const 2)))
    (local.set $a (f32.load (i32.add (global.get $u1) (local.get $i))))
    (local.set $c (f32.load (i32.add (global.get $u2) (local.get $i))))
    (if (i32.lt_s (local.get $x) (i32.sub (local.get $w) (i32.const 1)))
      (then
        (local.set $ax (f32.sub (f32.load (i32.add (global.get $u1) (i32.add (local.get $i) (i32.const 4)))) (local.get $a)))
        (local.set $cx (f32.sub (f32.load (i32.add (global.get $u2) (i32.add (local.get $i) (i32.const 4)))) (local.get $c)))))
    (if (i32.lt_s (local.get $y) (i32.sub (global.get $h) (i32.const 1)))
      (then
        (local.set $ay (f32.sub (f32.load (i32.add (global.get $u1) (i32.add (local.get $i) (i32.shl (local.get $w) (i32.const 2))))) (local.get $a)))
        (local.set $cy (f32.sub (f32.load (i32.add (global.get $u2) (i32.add (local.get $i) (i32.shl (local.get $w) (i32.const 2))))) (local.get $c)))))
    (call $dual_px (local.get $ax) (local.get $ay)
      (i32.add (global.get $p11) (local.get $j)) (i32.add (global.get $p12) (local.get $j)))
    (call $dual_px (local.get $cx) (local.get $cy)
      (i32.add (global.get $p21) (local.get $j)) (i32.add (global.get $p22) (local.get $j))))

  ;; dual step of row y
  (func $dual_row (param $y i32)
    (local $x i32) (local $w i32) (local $i i32) (local $j i32) (local $ws i32)
    (local $a v128) (local $c v128) (local $ax v128) (local $ay v128) (local $cx v128) (local $cy v128)
    (local $ng v128) (local $tt v128) (local $one v128) (local $q i32)
    (local.set $w (global.get $w))
    (local.set $ws (i32.shl (local.get $w) (i32.const 2)))
    (local.set $tt (f32x4.splat (global.get $taut)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $x (i32.const 0))
    (if (i32.lt_s (local.get $y) (i32.sub (global.get $h) (i32.const 1)))
      (then
        ;; four pixels while x + 4 <= w − 1 (the right neighbours stay in the row)
        (block $done
          (loop $vec
            (br_if $done (i32.gt_s (i32.add (local.get $x) (i32.const 4))
                                   (i32.sub (local.get $w) (i32.const 1))))
            (local.set $i (i32.shl (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)) (i32.const 2)))
            (local.set $j (i32.shl (i32.add (i32.mul (i32.add (local.get $y) (i32.const 1))
                                                    (i32.add (local.get $w) (i32.const 1)))
                                            (i32.add (local.get $x) (i32.const 1))) (i32.const 2)))
            (local.set $a (v128.load (i32.add (global.get $u1) (local.get $i))))
            (local.set $c (v128.load (i32.add (global.get $u2) (local.get $i))))
            (local.set $ax (f32x4.sub (v128.load (i32.add (global.get $u1) (i32.add (local.get $i) (i32.const 4)))) (local.get $a)))
            (local.set $ay (f32x4.sub (v128.load (i32.add (global.get $u1) (i32.add (local.get $i) (local.get $ws)))) (local.get $a)))
            (local.set $cx (f32x4.sub (v128.load (i32.add (global.get $u2) (i32.add (local.get $i) (i32.const 4)))) (local.get $c)))
            (local.set $cy (f32x4.sub (v128.load (i32.add (global.get $u2) (i32.add (local.get $i) (local.get $ws)))) (local.get $c)))
            ;; component 1
            (local.set $ng (f32x4.add (local.get $one)
              (f32x4.mul (local.get $tt) (call $hypot4 (local.get $ax) (local.get $ay)))))
            (local.set $q (i32.add (global.get $p11) (local.get $j)))
            (v128.store (local.get $q)
              (f32x4.div (f32x4.add (v128.load (local.get $q)) (f32x4.mul (local.get $tt) (local.get $ax))) (local.get $ng)))
            (local.set $q (i32.add (global.get $p12) (local.get $j)))
            (v128.store (local.get $q)
              (f32x4.div (f32x4.add (v128.load (local.get $q)) (f32x4.mul (local.get $tt) (local.get $ay))) (local.get $ng)))
            ;; component 2
            (local.set $ng (f32x4.add (local.get $one)
              (f32x4.mul (local.get $tt) (call $hypot4 (local.get $cx) (local.get $cy)))))
            (local.set $q (i32.add (global.get $p21) (local.get $j)))
            (v128.store (local.get $q)
              (f32x4.div (f32x4.add (v128.load (local.get $q)) (f32x4.mul (local.get $tt) (local.get $cx))) (local.get $ng)))
            (local.set $q (i32.add (global.get $p22) (local.get $j)))
            (v128.store (local.get $q)
              (f32x4.div (f32x4.add (v128.load (local.get $q)) (f32x4.mul (local.get $tt) (local.get $cy))) (local.get $ng)))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (br $vec)))))
    ;; the rest of the row (and the whole last row) one pixel at a time
    (block $end
      (loop $one_px
        (br_if $end (i32.ge_s (local.get $x) (local.get $w)))
        (call $dual_scalar (local.get $x) (local.get $y))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $one_px))))

  ;; thresholding + primal update at pixel x of row y, scalar; returns the
  ;; pixel's (Δu1)² + (Δu2)². $first: OpenCV's first-column association of
  ;; the divergence, (p1 + p2) − p2[up].
  (func $primal_scalar (param $x i32) (param $y i32) (result f32)
    (local $i i32) (local $j i32) (local $W4 i32)
    (local $ix f32) (local $iy f32) (local $u1k f32) (local $u2k f32) (local $g f32)
    (local $rh f32) (local $ltg f32) (local $d1 f32) (local $d2 f32) (local $fi f32)
    (local $div1 f32) (local $div2 f32) (local $n1 f32) (local $n2 f32) (local $e1 f32) (local $e2 f32)
    (local.set $i (i32.shl (i32.add (i32.mul (local.get $y) (global.get $w)) (local.get $x)) (i32.const 2)))
    (local.set $W4 (i32.shl (i32.add (global.get $w) (i32.const 1)) (i32.const 2)))
    (local.set $j (i32.add (i32.mul (i32.add (local.get $y) (i32.const 1)) (local.get $W4))
                           (i32.shl (i32.add (local.get $x) (i32.const 1)) (i32.const 2))))
    (local.set $ix (f32.load (i32.add (global.get $i1wx) (local.get $i))))
    (local.set $iy (f32.load (i32.add (global.get $i1wy) (local.get $i))))
    (local.set $u1k (f32.load (i32.add (global.get $u1) (local.get $i))))
    (local.set $u2k (f32.load (i32.add (global.get $u2) (local.get $i))))
    (local.set $g (f32.load (i32.add (global.get $grad) (local.get $i))))
    (local.set $rh (f32.add (f32.load (i32.add (global.get $rho) (local.get $i)))
      (f32.add (f32.mul (local.get $ix) (local.get $u1k)) (f32.mul (local.get $iy) (local.get $u2k)))))
    (local.set $ltg (f32.mul (global.get $lt) (local.get $g)))
    (if (f32.lt (local.get $rh) (f32.mul (f32.neg (global.get $lt)) (local.get $g)))
      (then
        (local.set $d1 (f32.mul (global.get $lt) (local.get $ix)))
        (local.set $d2 (f32.mul (global.get $lt) (local.get $iy))))
      (else
        (if (f32.gt (local.get $rh) (local.get $ltg))
          (then
            (local.set $d1 (f32.mul (f32.neg (global.get $lt)) (local.get $ix)))
            (local.set $d2 (f32.mul (f32.neg (global.get $lt)) (local.get $iy))))
          (else
            (if (f32.gt (local.get $g) (f32.const 0x1p-23))
              (then
                (local.set $fi (f32.div (f32.neg (local.get $rh)) (local.get $g)))
                (local.set $d1 (f32.mul (local.get $fi) (local.get $ix)))
                (local.set $d2 (f32.mul (local.get $fi) (local.get $iy)))))))))
    (if (i32.eqz (local.get $x))
      (then
        (local.set $div1 (f32.sub
          (f32.add (f32.load (i32.add (global.get $p11) (local.get $j)))
                   (f32.load (i32.add (global.get $p12) (local.get $j))))
          (f32.load (i32.add (global.get $p12) (i32.sub (local.get $j) (local.get $W4))))))
        (local.set $div2 (f32.sub
          (f32.add (f32.load (i32.add (global.get $p21) (local.get $j)))
                   (f32.load (i32.add (global.get $p22) (local.get $j))))
          (f32.load (i32.add (global.get $p22) (i32.sub (local.get $j) (local.get $W4)))))))
      (else
        (local.set $div1 (f32.add
          (f32.sub (f32.load (i32.add (global.get $p11) (local.get $j)))
                   (f32.load (i32.add (global.get $p11) (i32.sub (local.get $j) (i32.const 4)))))
          (f32.sub (f32.load (i32.add (global.get $p12) (local.get $j)))
                   (f32.load (i32.add (global.get $p12) (i32.sub (local.get $j) (local.get $W4)))))))
        (local.set $div2 (f32.add
          (f32.sub (f32.load (i32.add (global.get $p21) (local.get $j)))
                   (f32.load (i32.add (global.get $p21) (i32.sub (local.get $j) (i32.const 4)))))
          (f32.sub (f32.load (i32.add (global.get $p22) (local.get $j)))
                   (f32.load (i32.add (global.get $p22) (i32.sub (local.get $j) (local.get $W4)))))))))
    (local.set $n1 (f32.add (f32.add (local.get $u1k) (local.get $d1))
                            (f32.mul (global.get $theta) (local.get $div1))))
    (local.set $n2 (f32.add (f32.add (local.get $u2k) (local.get $d2))
                            (f32.mul (global.get $theta) (local.get $div2))))
    (f32.store (i32.add (global.get $u1) (local.get $i)) (local.get $n1))
    (f32.store (i32.add (global.get $u2) (local.get $i)) (local.get $n2))
    (local.set $e1 (f32.sub (local.get $n1) (local.get $u1k)))
    (local.set $e2 (f32.sub (local.get $n2) (local.get $u2k)))
    (f32.add (f32.mul (local.get $e1) (local.get $e1)) (f32.mul (local.get $e2) (local.get $e2))))

  ;; primal step of row y; returns err + the row's Σ|Δu|², summed in order
  (func $primal_row (param $y i32) (param $err f32) (result f32)
    (local $x i32) (local $w i32) (local $i i32) (local $j i32) (local $W4 i32)
    (local $ix v128) (local $iy v128) (local $u1k v128) (local $u2k v128) (local $g v128)
    (local $rh v128) (local $ltg v128) (local $mltg v128) (local $lt4 v128) (local $mlt4 v128)
    (local $fi v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $d1 v128) (local $d2 v128)
    (local $n1 v128) (local $n2 v128) (local $e v128) (local $th v128) (local $eps v128) (local $zero v128)
    (local $q i32)
    (local.set $w (global.get $w))
    (local.set $W4 (i32.shl (i32.add (local.get $w) (i32.const 1)) (i32.const 2)))
    (local.set $lt4 (f32x4.splat (global.get $lt)))
    (local.set $mlt4 (f32x4.splat (f32.neg (global.get $lt))))
    (local.set $th (f32x4.splat (global.get $theta)))
    (local.set $eps (f32x4.splat (f32.const 0x1p-23)))
    (local.set $zero (v128.const f32x4 0 0 0 0))
    (local.set $err (f32.add (local.get $err) (call $primal_scalar (i32.const 0) (local.get $y))))
    (local.set $x (i32.const 1))
    (block $done
      (loop $vec
        (br_if $done (i32.gt_s (i32.add (local.get $x) (i32.const 4)) (local.get $w)))
        (local.set $i (i32.shl (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)) (i32.const 2)))
        (local.set $j (i32.add (i32.mul (i32.add (local.get $y) (i32.const 1)) (local.get $W4))
                               (i32.shl (i32.add (local.get $x) (i32.const 1)) (i32.const 2))))
        (local.set $ix (v128.load (i32.add (global.get $i1wx) (local.get $i))))
        (local.set $iy (v128.load (i32.add (global.get $i1wy) (local.get $i))))
        (local.set $u1k (v128.load (i32.add (global.get $u1) (local.get $i))))
        (local.set $u2k (v128.load (i32.add (global.get $u2) (local.get $i))))
        (local.set $g (v128.load (i32.add (global.get $grad) (local.get $i))))
        (local.set $rh (f32x4.add (v128.load (i32.add (global.get $rho) (local.get $i)))
          (f32x4.add (f32x4.mul (local.get $ix) (local.get $u1k)) (f32x4.mul (local.get $iy) (local.get $u2k)))))
        (local.set $ltg (f32x4.mul (local.get $lt4) (local.get $g)))
        (local.set $mltg (f32x4.mul (local.get $mlt4) (local.get $g)))
        (local.set $c1 (f32x4.lt (local.get $rh) (local.get $mltg)))
        (local.set $c2 (f32x4.gt (local.get $rh) (local.get $ltg)))
        (local.set $c3 (f32x4.gt (local.get $g) (local.get $eps)))
        ;; fi lanes where g ≤ eps are never selected (inf/nan there is harmless)
        (local.set $fi (f32x4.div (f32x4.neg (local.get $rh)) (local.get $g)))
        (local.set $d1
          (v128.bitselect (f32x4.mul (local.get $lt4) (local.get $ix))
            (v128.bitselect (f32x4.mul (local.get $mlt4) (local.get $ix))
              (v128.and (f32x4.mul (local.get $fi) (local.get $ix)) (local.get $c3))
              (local.get $c2))
            (local.get $c1)))
        (local.set $d2
          (v128.bitselect (f32x4.mul (local.get $lt4) (local.get $iy))
            (v128.bitselect (f32x4.mul (local.get $mlt4) (local.get $iy))
              (v128.and (f32x4.mul (local.get $fi) (local.get $iy)) (local.get $c3))
              (local.get $c2))
            (local.get $c1)))
        (local.set $n1 (f32x4.add (f32x4.add (local.get $u1k) (local.get $d1))
          (f32x4.mul (local.get $th)
            (f32x4.add
              (f32x4.sub (v128.load (i32.add (global.get $p11) (local.get $j)))
                         (v128.load (i32.add (global.get $p11) (i32.sub (local.get $j) (i32.const 4)))))
              (f32x4.sub (v128.load (i32.add (global.get $p12) (local.get $j)))
                         (v128.load (i32.add (global.get $p12) (i32.sub (local.get $j) (local.get $W4)))))))))
        (local.set $n2 (f32x4.add (f32x4.add (local.get $u2k) (local.get $d2))
          (f32x4.mul (local.get $th)
            (f32x4.add
              (f32x4.sub (v128.load (i32.add (global.get $p21) (local.get $j)))
                         (v128.load (i32.add (global.get $p21) (i32.sub (local.get $j) (i32.const 4)))))
              (f32x4.sub (v128.load (i32.add (global.get $p22) (local.get $j)))
                         (v128.load (i32.add (global.get $p22) (i32.sub (local.get $j) (local.get $W4)))))))))
        (v128.store (i32.add (global.get $u1) (local.get $i)) (local.get $n1))
        (v128.store (i32.add (global.get $u2) (local.get $i)) (local.get $n2))
        (local.set $n1 (f32x4.sub (local.get $n1) (local.get $u1k)))
        (local.set $n2 (f32x4.sub (local.get $n2) (local.get $u2k)))
        (local.set $e (f32x4.add (f32x4.mul (local.get $n1) (local.get $n1))
                                 (f32x4.mul (local.get $n2) (local.get $n2))))
        (local.set $err (f32.add (local.get $err) (f32x4.extract_lane 0 (local.get $e))))
        (local.set $err (f32.add (local.get $err) (f32x4.extract_lane 1 (local.get $e))))
        (local.set $err (f32.add (local.get $err) (f32x4.extract_lane 2 (local.get $e))))
        (local.set $err (f32.add (local.get $err) (f32x4.extract_lane 3 (local.get $e))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $vec)))
    (block $end
      (loop $one_px
        (br_if $end (i32.ge_s (local.get $x) (local.get $w)))
        (local.set $err (f32.add (local.get $err) (call $primal_scalar (local.get $x) (local.get $y))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $one_px)))
    (local.get $err))

  ;; One sweep over the rows. mode 1: dual step only; 2: primal step only;
  ;; 3: the dual step of iteration n fused with the primal step of n + 1
  ;; (row y's dual update needs flow rows y, y + 1; its primal update needs
  ;; dual rows y − 1, y). Returns the primal steps' Σ|Δu|² (0 for mode 1).
  (func (export "sweep") (param $mode i32) (result f32)
    (local $y i32) (local $err f32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $y) (global.get $h)))
        (if (i32.and (local.get $mode) (i32.const 1))
          (then (call $dual_row (local.get $y))))
        (if (i32.and (local.get $mode) (i32.const 2))
          (then (local.set $err (call $primal_row (local.get $y) (local.get $err)))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))
    (local.get $err))
)
