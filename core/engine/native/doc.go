// Package native is the integer engine "native": the fixed-point step of
// docs/ENGINE.md fused into one C function per step (the int8 products of
// every layer, the gates, the head and the integer softmax), with AVX-512
// VNNI, AVX2 and portable C paths chosen at run time and a small pool of
// threads that share out each step (docs/ENGINE.md, "The native engine").
// It needs cgo but no libtorch; builds without cgo leave it out (the
// pure-Go engine remains).
package native
