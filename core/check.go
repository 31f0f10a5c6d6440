package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"zpng/codec"
	"zpng/codec/cm"
)

// The check of a new image usually decodes the written file after it is
// written (writeChecked). Method cm codes on one core and decodes as slowly
// as it codes, so where a second core is free its payload is decoded while
// it is coded instead, by a checker that follows the coder through the
// payload; the written file is then read back and must hold exactly the
// header and sections that were checked. Nothing is published before both
// agree, as before; only the order of the work changes, never a byte.

// followMaxBytes bounds the inputs checked while they are coded. The
// checker is a second cm model (~150–220 MB at the tables' largest), whose
// tables wait in their pools while the next candidate runs: 62 MB of text
// at level 3 peaked at 1.43 GB with it (xz -9e after cm, in C memory that
// Go's collector does not count), too near the 1.5 GB a 100 MB job may take.
const followMaxBytes = 16 << 20

// followsCoding says whether method cm's check of n bytes runs beside its
// coding: when Go has a second core to run it on.
func followsCoding(n int) bool {
	return n > 0 && n <= followMaxBytes && runtime.GOMAXPROCS(0) >= 2
}

// growingBuffer collects a payload as it is written and hands it to a
// reader that follows (its more method is an entropy.MoreBytes).
type growingBuffer struct {
	mu     sync.Mutex
	grew   *sync.Cond
	buf    []byte
	closed bool
}

func newGrowingBuffer() *growingBuffer {
	b := &growingBuffer{}
	b.grew = sync.NewCond(&b.mu)
	return b
}

func (b *growingBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errors.New("core: write to a closed payload")
	}
	b.buf = append(b.buf, p...)
	b.grew.Broadcast()
	return len(p), nil
}

// close ends the payload: a reader waiting for more gets what there is.
func (b *growingBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.grew.Broadcast()
}

// bytes returns the payload so far.
func (b *growingBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf
}

// more returns the payload once it holds more than have bytes or is
// closed. The bytes returned never change: later writes append beyond them
// or to a new array.
func (b *growingBuffer) more(have int) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) <= have && !b.closed {
		b.grew.Wait()
	}
	return b.buf, b.closed
}

// follower decodes a cm payload while it is coded and compares what it
// decodes with the original.
type follower struct {
	payload *growingBuffer
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // once done is closed
}

// followCM starts checking the payload that method m with flags codes from
// src; the coder writes it to f.payload and closes it (f.finish).
func followCM(ctx context.Context, m codec.Method, flags uint16, src []byte) *follower {
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{payload: newGrowingBuffer(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.err = decodesTo(ctx, m, flags, f.payload.more, src)
	}()
	return f
}

// decodesTo decodes the payload that more gives with method m and flags,
// and says whether it is src exactly.
func decodesTo(ctx context.Context, m codec.Method, flags uint16, more func(int) ([]byte, bool), src []byte) error {
	r, err := cm.NewStreamDecompressor(m, more, int64(len(src)), flags)
	if err != nil {
		return err
	}
	defer r.Close()
	buf := make([]byte, 64<<10)
	rest := src
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		if n > len(rest) || !bytes.Equal(buf[:n], rest[:n]) {
			return fmt.Errorf("%w: the payload decodes to other bytes than the input's", codec.ErrCorrupt)
		}
		rest = rest[n:]
		if err == io.EOF {
			if len(rest) != 0 {
				return fmt.Errorf("%w: the payload decodes to %d bytes of %d", codec.ErrCorrupt, len(src)-len(rest), len(src))
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// finish ends the payload (the coder is done or failed) and, after a
// failure, the check.
func (f *follower) finish(failed bool) {
	f.payload.close()
	if failed {
		f.stop()
	}
}

// result waits for the check and returns its error.
func (f *follower) result(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		f.stop()
		return ctx.Err()
	}
}

// stop ends the check and waits for it.
func (f *follower) stop() {
	f.cancel()
	<-f.done
}

// readBack reads the image at path, written from c, and checks that it
// holds c: the header's fields, the tree (as a restore checks it) and
// every section, byte for byte.
func readBack(ctx context.Context, j *job, path string, c *codec.Container) error {
	file, size, err := openSized(path)
	if err != nil {
		return err
	}
	defer file.Close()
	j.progress.begin("read", size)
	got, err := codec.Read(file, size)
	if err != nil {
		return err
	}
	if got.IsTree() {
		if _, err := treeOf(got); err != nil {
			return err
		}
	}
	j.progress.begin("verify", got.OriginalSize)
	if err := ctx.Err(); err != nil {
		return err
	}
	if !sameContainer(got, c) {
		return fmt.Errorf("%w: the file written does not hold the image that was checked", codec.ErrCorrupt)
	}
	return nil
}

// sameContainer says whether a, as read, holds what b was written from (the
// version follows from the sections).
func sameContainer(a, b *codec.Container) bool {
	if a.Method != b.Method || a.Flags != b.Flags || a.OriginalSize != b.OriginalSize ||
		a.SHA256 != b.SHA256 || a.Name != b.Name || a.ModelID != b.ModelID || len(a.Sections) != len(b.Sections) {
		return false
	}
	for i, s := range a.Sections {
		if s.Type != b.Sections[i].Type || !bytes.Equal(s.Data, b.Sections[i].Data) {
			return false
		}
	}
	return true
}
