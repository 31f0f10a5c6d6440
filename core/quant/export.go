package quant

// LookupTables returns copies of the SIG, TANH and EXP tables of
// docs/ENGINE.md, for engines that run the fixed-point step outside Go.
func LookupTables() (sig, tanh [8192]int16, exp [8192]int32) {
	return sigTable, tanhTable, expTable
}
