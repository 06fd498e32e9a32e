package relay

import (
	"encoding/json"
	"errors"
	"sync"
)

var (
	errQueueFull   = errors.New("dispatch queue full")
	errQueueClosed = errors.New("relay is shutting down")
)

// job is one repository_dispatch to send.
type job struct {
	target   Target
	payload  json.RawMessage
	event    string
	tokenID  string
	delivery string
}

// queue is a bounded FIFO of jobs. push is all-or-nothing, so an event's
// dispatches are queued together or not at all; after close, pop still
// returns what is queued (shutdown drains) and then reports done.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []job
	head   int
	max    int
	closed bool
}

func newQueue(max int) *queue {
	q := &queue{max: max}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) push(jobs []job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errQueueClosed
	}
	if len(q.items)-q.head+len(jobs) > q.max {
		return errQueueFull
	}
	if q.head > 0 && q.head >= len(q.items)/2 {
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	q.items = append(q.items, jobs...)
	for range jobs {
		q.cond.Signal()
	}
	return nil
}

// pop blocks until a job is available, or the queue is closed and empty.
func (q *queue) pop() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.cond.Wait()
	}
	if q.head == len(q.items) {
		return job{}, false
	}
	j := q.items[q.head]
	q.items[q.head] = job{}
	q.head++
	if q.head == len(q.items) {
		q.items = q.items[:0]
		q.head = 0
	}
	return j, true
}

func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}
