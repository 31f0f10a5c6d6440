//go:build !purego

#include "textflag.h"

// func dotAVX2(x, w *int32, n int) int64
// Four products a step: both operands widened to 64 bits, multiplied as
// signed 32-bit values (VPMULDQ) and summed in four 64-bit lanes.
TEXT ·dotAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ n+16(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y4, Y4, Y4
	CMPQ CX, $8
	JLT  four

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

four:
	CMPQ CX, $4
	JLT  sum
	VPMOVSXDQ (SI), Y1
	VPMOVSXDQ (DI), Y2
	VPMULDQ   Y1, Y2, Y3
	VPADDQ    Y3, Y0, Y0

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
// then clamped to ±2^24 (cmMaxWeight).
TEXT ·trainAVX2(SB), NOSPLIT, $0-36
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ n+16(FP), CX
	MOVL err+24(FP), AX
	MOVL AX, X8
	VPBROADCASTD X8, Y8          // err
	MOVL round+28(FP), AX
	MOVL AX, X10
	VPBROADCASTD X10, Y10        // round
	MOVL shift+32(FP), AX
	MOVL AX, X9                  // the shift, as VPSRAD's count
	MOVL $0x1000000, AX
	MOVL AX, X11
	VPBROADCASTD X11, Y11        // cmMaxWeight
	NEGL AX
	MOVL AX, X12
	VPBROADCASTD X12, Y12        // -cmMaxWeight

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
	JNZ     loop
	VZEROUPPER
	RET
