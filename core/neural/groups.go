package neural

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"zpng/codec"
	"zpng/codec/cm"
	"zpng/codec/entropy"
	"zpng/core/engine"
	"zpng/core/model"
)

// Methods hybrid and hybrid3 split the B streams into G groups of
// consecutive streams and code each group on its own: its own cm model,
// history and match tables, its own predictor. In method hybrid3 a group
// is a file of method hybrid2 of its own bytes (cm revision 2); in method
// hybrid a group runs cm revision 3 with the profile its bytes suggest,
// kept in the group table. Groups are independent, so they are coded and
// decoded in parallel; G depends only on the file's size and the policy
// (groupCount), never on the machine, so that the same input and settings
// make the same image everywhere. FORMAT.md sections 13 and 15 are the
// exact contract.

// groupCoding is how a group of method m is coded, given its bytes src:
// the method the cm package codes it with and its flags. Other methods
// code as themselves.
func groupCoding(m codec.Method, src []byte) (codec.Method, uint16) {
	switch m {
	case codec.MethodHybrid3:
		return codec.MethodHybrid2, 0 // a group is a file of method hybrid2
	case codec.MethodHybrid:
		return codec.MethodHybrid, cm.HybridFlags(src)
	}
	return m, 0
}

// isGrouped says whether method m codes groups of streams.
func isGrouped(m codec.Method) bool { return m == codec.MethodHybrid || m == codec.MethodHybrid3 }

// maxGroups bounds G: more groups cost bytes (each relearns the cm model)
// for cores few machines have.
const maxGroups = 8

// groupCount is G for n bytes in B streams: one group per groupBytes, at
// least 1, at most B and maxGroups.
func groupCount(n int64, B int, groupBytes int64) int {
	if groupBytes <= 0 {
		return 1
	}
	return int(min(max(n/groupBytes, 1), int64(min(B, maxGroups))))
}

// groupStreams is the number of streams of each of G groups of B streams:
// B/G each, one more for the first B mod G.
func groupStreams(B, G int) []int {
	sizes := entropy.SplitSizes(int64(B), G)
	g := make([]int, G)
	for i, s := range sizes {
		g[i] = int(s)
	}
	return g
}

// appendGroupTable appends the group table of section 13 (flags nil: method
// hybrid3) or 15 (method hybrid): G, then each group's stream count and,
// in section 15, its flags, u32 little-endian.
func appendGroupTable(dst []byte, groups []int, flags []uint16) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(groups)))
	for g, n := range groups {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
		if flags != nil {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(flags[g]))
		}
	}
	return dst
}

// splitGroupTable splits the STRM section of method m (hybrid or hybrid3)
// into the stream table of section 6 and the group table after it, which
// it parses: G ≥ 1 groups of at least one stream each, adding up to B, and
// for method hybrid each group's flags (nil for hybrid3), which the cm
// package checks.
func splitGroupTable(table []byte, m codec.Method) (streams []byte, groups []int, flags []uint16, err error) {
	entry := int64(4) // bytes per group
	if m == codec.MethodHybrid {
		entry = 8
	}
	if len(table) < 4 {
		return nil, nil, nil, fmt.Errorf("%w: stream table of %d bytes", codec.ErrCorrupt, len(table))
	}
	B := int64(binary.LittleEndian.Uint32(table))
	if B == 0 || B > maxStreams {
		return nil, nil, nil, fmt.Errorf("%w: %d streams (want 1…%d)", codec.ErrCorrupt, B, maxStreams)
	}
	end := 4 + 16*B
	if int64(len(table)) < end+4 {
		return nil, nil, nil, fmt.Errorf("%w: stream table of %d bytes for %d streams and groups", codec.ErrCorrupt, len(table), B)
	}
	rest := table[end:]
	G := int64(binary.LittleEndian.Uint32(rest))
	if G == 0 || G > B || int64(len(rest)) != 4+entry*G {
		return nil, nil, nil, fmt.Errorf("%w: group table of %d bytes for %d groups of %d streams", codec.ErrCorrupt, len(rest), G, B)
	}
	groups = make([]int, G)
	if entry == 8 {
		flags = make([]uint16, G)
	}
	var sum int64
	for i := range groups {
		e := rest[4+entry*int64(i):]
		n := int64(binary.LittleEndian.Uint32(e))
		if n == 0 || n > B {
			return nil, nil, nil, fmt.Errorf("%w: group %d of %d streams", codec.ErrCorrupt, i, n)
		}
		groups[i], sum = int(n), sum+n
		if flags != nil {
			f := binary.LittleEndian.Uint32(e[4:])
			if f > 0xFFFF {
				return nil, nil, nil, fmt.Errorf("%w: group %d has flags %#x", codec.ErrCorrupt, i, f)
			}
			flags[i] = uint16(f)
		}
	}
	if sum != B {
		return nil, nil, nil, fmt.Errorf("%w: groups of %d streams in all, want %d", codec.ErrCorrupt, sum, B)
	}
	return table[:end], groups, flags, nil
}

// network is a model on an engine: what makes a group's predictor.
type network struct {
	f  engine.Factory
	eo engine.Options
	q  *model.Quantized
}

// workersFor returns how many of G groups run at once and the engine
// threads each gets: threads (the thread option) or, when it is 0, the
// cores Go runs on, divided among the workers. This changes speed only.
func workersFor(G, threads int) (workers, engineThreads int) {
	total := threads
	if total <= 0 {
		total = runtime.GOMAXPROCS(0)
	}
	workers = max(min(G, total), 1)
	return workers, max(total/workers, 1)
}

// progress sums the bytes that groups coding in parallel report and passes
// the total on to done, one call at a time.
type progress struct {
	mu   sync.Mutex
	done func(int64)
	by   []int64
}

func newProgress(done func(int64), G int) *progress {
	return &progress{done: done, by: make([]int64, G)}
}

// group returns the done func of group g.
func (p *progress) group(g int) func(int64) {
	if p.done == nil {
		return nil
	}
	return func(d int64) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.by[g] = d
		var sum int64
		for _, b := range p.by {
			sum += b
		}
		p.done(sum)
	}
}

// runGroups runs fn for groups 0 … G−1, at most workers at once, started
// in order, and returns the first error; an error cancels the groups still
// running. fn gets the engine options of its predictor.
func runGroups(ctx context.Context, G, workers int, eo engine.Options, fn func(ctx context.Context, g int, eo engine.Options) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if workers <= 0 {
		workers = G
	}
	w, threads := workersFor(min(G, workers), eo.Threads)
	eo.Threads = threads
	sem := make(chan struct{}, w)
	errs := make([]error, G)
	var wg sync.WaitGroup
	for g := range G {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if errs[g] = fn(ctx, g, eo); errs[g] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return ctx.Err()
}

// encodeGroups codes src as B streams in G groups with method m, hybrid or
// hybrid3 (groupCoding). workers bounds the groups coded at once (0:
// workersFor). It returns the payload, the STRM section (with its group
// table) and the device the engine ran on.
func encodeGroups(ctx context.Context, net network, m codec.Method, src []byte, B, G, workers int, done func(int64)) (payload, table []byte, dev string, err error) {
	groups := groupStreams(B, G)
	sizes := entropy.SplitSizes(int64(len(src)), B)
	off := offsets(sizes)
	type result struct {
		payload []byte
		streams []entropy.Stream
		flags   uint16
		dev     string
	}
	res := make([]result, G)
	prog := newProgress(done, G)
	err = runGroups(ctx, G, workers, net.eo, func(ctx context.Context, g int, eo engine.Options) error {
		first := 0
		for _, n := range groups[:g] {
			first += n
		}
		lo, hi := off[first], off[first]
		for _, s := range sizes[first : first+groups[g]] {
			hi += s
		}
		// The coder runs beside the network (runAhead), sharing its cores.
		ps, err := openAhead(net.f, net.q, groups[g], eo)
		if err != nil {
			return err
		}
		defer closeAll(ps)
		gm, flags := groupCoding(m, src[lo:hi])
		pay, tab, err := encodeStreams(ctx, ps, src[lo:hi], gm, flags, prog.group(g))
		if err != nil {
			return err
		}
		streams, err := entropy.ParseStreamTable(tab, hi-lo, int64(len(pay)))
		if err != nil {
			return err
		}
		res[g] = result{pay, streams, flags, deviceOf(ps[0])}
		return nil
	})
	if err != nil {
		return nil, nil, "", err
	}
	var streams []entropy.Stream
	var flags []uint16
	for _, r := range res {
		payload = append(payload, r.payload...)
		streams = append(streams, r.streams...)
		if m == codec.MethodHybrid {
			flags = append(flags, r.flags)
		}
	}
	table = appendGroupTable(entropy.AppendStreamTable(nil, streams), groups, flags)
	return payload, table, res[0].dev, nil
}

// decodeGroups decodes the streams of method m, hybrid or hybrid3 (the
// parsed stream table of STRM), in groups as its group table says (groups,
// and flags for method hybrid), and writes the n original bytes
// to w in order. workers bounds the groups decoded at once (0:
// workersFor). A group's output is held until the groups before it are
// written; groups start in order and a group waiting to write keeps its
// place among the workers, so the outputs of at most workers groups are
// held at once: never more than the n bytes the decoder of one group holds.
func decodeGroups(ctx context.Context, net network, m codec.Method, streams []entropy.Stream, groups []int, flags []uint16, payload []byte, n int64, workers int, w io.Writer, done func(int64)) error {
	B := len(streams)
	sizes := entropy.SplitSizes(n, B)
	for i, s := range streams {
		if s.Symbols != sizes[i] {
			return fmt.Errorf("%w: stream %d holds %d bytes, want %d", codec.ErrCorrupt, i, s.Symbols, sizes[i])
		}
	}
	G := len(groups)
	type part struct {
		first, count int
		symbols      int64
		lo, hi       int64 // its payload
	}
	parts := make([]part, G)
	var first int
	var off int64
	for g, count := range groups {
		pt := part{first: first, count: count, lo: off}
		for _, s := range streams[first : first+count] {
			pt.symbols += s.Symbols
			off += s.Bytes
		}
		pt.hi = off
		parts[g], first = pt, first+count
	}
	// Group g writes its output once group g−1 has written: turn[g] closes.
	turn := make([]chan struct{}, G+1)
	for g := range turn {
		turn[g] = make(chan struct{})
	}
	close(turn[0])
	prog := newProgress(done, G)
	return runGroups(ctx, G, workers, net.eo, func(ctx context.Context, g int, eo engine.Options) error {
		pt := parts[g]
		p, err := net.f.NewPredictor(net.q, pt.count, eo)
		if err != nil {
			return err
		}
		defer p.Close()
		table := entropy.AppendStreamTable(nil, streams[pt.first:pt.first+pt.count])
		tw := &turnWriter{ctx: ctx, turn: turn[g], w: w}
		gm, _ := groupCoding(m, nil)
		var gf uint16
		if flags != nil {
			gf = flags[g]
		}
		if err := decodeStreams(ctx, p, table, payload[pt.lo:pt.hi:pt.hi], pt.symbols, gm, gf, tw, prog.group(g)); err != nil {
			return err
		}
		if _, err := tw.Write(nil); err != nil { // a group of no bytes waits its turn too
			return err
		}
		close(turn[g+1])
		return nil
	})
}

// turnWriter writes to w once turn is closed: a group's output waits for
// the groups before it.
type turnWriter struct {
	ctx  context.Context
	turn <-chan struct{}
	w    io.Writer
}

func (t *turnWriter) Write(b []byte) (int, error) {
	select {
	case <-t.turn:
	case <-t.ctx.Done():
		return 0, t.ctx.Err()
	}
	return t.w.Write(b)
}

// groupBytes is the group size groupCount gets: the policy's, or 0 (one
// group) under Settings.OneGroup.
func (e *encoder) groupBytes() int64 {
	if e.s.OneGroup {
		return 0
	}
	return e.policy.GroupBytes
}

// encodeWith codes the whole file under q: in groups (methods hybrid and
// hybrid3) or in lockstep. It returns the device the engine ran on.
func (e *encoder) encodeWith(ctx context.Context, q *model.Quantized) (payload, table []byte, dev string, err error) {
	update := func(d int64) { e.r.Update(d, 0) }
	if isGrouped(e.s.Method) {
		G := groupCount(e.n, e.B, e.groupBytes())
		return encodeGroups(ctx, network{e.f, e.eo, q}, e.s.Method, e.src, e.B, G, 0, update)
	}
	ps, err := openAhead(e.f, q, e.B, e.eo)
	if err != nil {
		return nil, nil, "", err
	}
	defer closeAll(ps)
	payload, table, err = encodeStreams(ctx, ps, e.src, e.s.Method, 0, update)
	return payload, table, deviceOf(ps[0]), err
}

// emptyStreams is the payload and STRM section of an empty file: one empty
// stream (in one group, for methods hybrid and hybrid3; method hybrid's
// with the text profile).
func emptyStreams(m codec.Method) (payload, table []byte) {
	table = entropy.AppendStreamTable(nil, []entropy.Stream{{}})
	switch m {
	case codec.MethodHybrid3:
		table = appendGroupTable(table, []int{1}, nil)
	case codec.MethodHybrid:
		table = appendGroupTable(table, []int{1}, []uint16{0})
	}
	return nil, table
}
