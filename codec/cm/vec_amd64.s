//go:build !purego

#include "textflag.h"

// tailMask<>+32-4r holds 8 lanes, the first r of them all ones: the mask
// of the last r < 8 inputs, loaded and stored with VPMASKMOVD.
DATA tailMask<>+0(SB)/8, $-1
DATA tailMask<>+8(SB)/8, $-1
DATA tailMask<>+16(SB)/8, $-1
DATA tailMask<>+24(SB)/8, $-1
DATA tailMask<>+32(SB)/8, $0
DATA tailMask<>+40(SB)/8, $0
DATA tailMask<>+48(SB)/8, $0
DATA tailMask<>+56(SB)/8, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// func dotAVX2(x, w *int32, n int) int64
// Eight products a step: the lower and upper four inputs and weights
// widened to 64 bits, multiplied as signed 32-bit values (VPMULDQ) and
// summed in 64-bit lanes; the last n mod 8 with masked loads.
TEXT ·dotAVX2(SB), NOSPLIT, $0-32
	MOVQ  x+0(FP), SI
	MOVQ  w+8(FP), DI
	MOVQ  n+16(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y4, Y4, Y4
	CMPQ  CX, $8
	JLT   tail

eight:
	VPMOVSXDQ (SI), Y1
	VPMOVSXDQ (DI), Y2
	VPMULDQ   Y1, Y2, Y3
	VPADDQ    Y3, Y0, Y0
	VPMOVSXDQ 16(SI), Y5
	VPMOVSXDQ 16(DI), Y6
	VPMULDQ   Y5, Y6, Y7
	VPADDQ    Y7, Y4, Y4
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	CMPQ      CX, $8
	JGE       eight

tail:
	TESTQ        CX, CX
	JZ           sum
	LEAQ         tailMask<>+32(SB), AX
	SHLQ         $2, CX
	SUBQ         CX, AX
	VMOVDQU      (AX), Y7
	VPMASKMOVD   (SI), Y7, Y1
	VPMASKMOVD   (DI), Y7, Y2
	VPMOVSXDQ    X1, Y3
	VPMOVSXDQ    X2, Y5
	VPMULDQ      Y3, Y5, Y6
	VPADDQ       Y6, Y0, Y0
	VEXTRACTI128 $1, Y1, X1
	VEXTRACTI128 $1, Y2, X2
	VPMOVSXDQ    X1, Y3
	VPMOVSXDQ    X2, Y5
	VPMULDQ      Y3, Y5, Y6
	VPADDQ       Y6, Y4, Y4

sum:
	VPADDQ       Y4, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPADDQ       X1, X0, X0
	VMOVQ        X0, AX
	VZEROUPPER
	MOVQ         AX, ret+24(FP)
	RET

// func trainAVX2(x, w *int32, n int, err, round, shift int32)
// Eight weights a step: w += (x·err + round) >> shift, in 32-bit lanes,
// then clamped to ±2^24 (cmMaxWeight); the last n mod 8 with masked loads
// and a masked store.
TEXT ·trainAVX2(SB), NOSPLIT, $0-36
	MOVQ         x+0(FP), SI
	MOVQ         w+8(FP), DI
	MOVQ         n+16(FP), CX
	MOVL         err+24(FP), AX
	MOVL         AX, X8
	VPBROADCASTD X8, Y8           // err
	MOVL         round+28(FP), AX
	MOVL         AX, X10
	VPBROADCASTD X10, Y10         // round
	MOVL         shift+32(FP), AX
	MOVL         AX, X9           // the shift, as VPSRAD's count
	MOVL         $0x1000000, AX
	MOVL         AX, X11
	VPBROADCASTD X11, Y11         // cmMaxWeight
	NEGL         AX
	MOVL         AX, X12
	VPBROADCASTD X12, Y12         // -cmMaxWeight
	CMPQ         CX, $8
	JLT          tail

loop:
	VMOVDQU (SI), Y1
	VPMULLD Y8, Y1, Y1
	VPADDD  Y10, Y1, Y1
	VPSRAD  X9, Y1, Y1
	VMOVDQU (DI), Y2
	VPADDD  Y1, Y2, Y2
	VPMAXSD Y12, Y2, Y2
	VPMINSD Y11, Y2, Y2
	VMOVDQU Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	CMPQ    CX, $8
	JGE     loop

tail:
	TESTQ      CX, CX
	JZ         done
	LEAQ       tailMask<>+32(SB), AX
	SHLQ       $2, CX
	SUBQ       CX, AX
	VMOVDQU    (AX), Y7
	VPMASKMOVD (SI), Y7, Y1
	VPMULLD    Y8, Y1, Y1
	VPADDD     Y10, Y1, Y1
	VPSRAD     X9, Y1, Y1
	VPMASKMOVD (DI), Y7, Y2
	VPADDD     Y1, Y2, Y2
	VPMAXSD    Y12, Y2, Y2
	VPMINSD    Y11, Y2, Y2
	VPMASKMOVD Y2, Y7, (DI)

done:
	VZEROUPPER
	RET
