package interpreter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// maxBody bounds a request body: code cells are text.
const maxBody = 16 << 20

// Handler serves the code interpreter's HTTP API.
func Handler(m *Manager, st *state.State, log *slog.Logger) http.Handler {
	h := &handler{m: m, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("POST /execute", guard(st, tokenOnly, h.execute))
	mux.Handle("GET /contexts", guard(st, tokenOrTraffic, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, m.List())
	}))
	mux.Handle("POST /contexts", guard(st, tokenOrTraffic, h.createContext))
	mux.Handle("POST /contexts/{id}/restart", guard(st, tokenOrTraffic, func(w http.ResponseWriter, r *http.Request) {
		if err := m.Restart(r.Context(), r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "restarted"})
	}))
	mux.Handle("DELETE /contexts/{id}", guard(st, tokenOrTraffic, func(w http.ResponseWriter, r *http.Request) {
		if err := m.Remove(r.Context(), r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.Handle("/", guard(st, tokenOrTraffic, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%s %s is not a code interpreter route: %w", r.Method, r.URL.Path, errdefs.ErrNotFound))
	}))
	return mux
}

type handler struct {
	m   *Manager
	log *slog.Logger
}

// executeRequest is the body of POST /execute.
type executeRequest struct {
	Code      *string           `json:"code"`
	ContextID string            `json:"context_id"`
	Language  string            `json:"language"`
	EnvVars   map[string]string `json:"env_vars"`
}

// parseExecute decodes and checks the body of POST /execute.
func parseExecute(w http.ResponseWriter, r *http.Request) (executeRequest, error) {
	var req executeRequest
	if err := decode(w, r, &req); err != nil {
		return req, err
	}
	if req.Code == nil {
		return req, fmt.Errorf("code is required: %w", errdefs.ErrInvalidArgument)
	}
	if req.ContextID != "" && req.Language != "" {
		return req, fmt.Errorf("give context_id or language, not both: %w", errdefs.ErrInvalidArgument)
	}
	return req, nil
}

func (h *handler) execute(w http.ResponseWriter, r *http.Request) {
	req, err := parseExecute(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	var c *Context
	if req.ContextID != "" {
		c, err = h.m.Get(req.ContextID)
	} else {
		c, err = h.m.Default(req.Language)
	}
	if err == nil {
		var l *language
		if l, err = lookupLanguage(c.Language); err == nil {
			err = l.validateEnv(req.EnvVars)
		}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	lw := newLineWriter(w)
	defer lw.close()
	if err := h.m.Execute(r.Context(), c, *req.Code, req.EnvVars, lw); err != nil && r.Context().Err() == nil {
		h.log.Warn("execute", "context", c.ID, "err", err)
	}
}

// createRequest is the body of POST /contexts.
type createRequest struct {
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

// parseCreate decodes and checks the body of POST /contexts: the language
// must be one the interpreter has (absent is Python).
func parseCreate(w http.ResponseWriter, r *http.Request) (createRequest, error) {
	var req createRequest
	if err := decode(w, r, &req); err != nil {
		return req, err
	}
	if _, err := lookupLanguage(req.Language); err != nil {
		return req, err
	}
	return req, nil
}

func (h *handler) createContext(w http.ResponseWriter, r *http.Request) {
	req, err := parseCreate(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	info, err := h.m.Create(r.Context(), req.Language, req.Cwd)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	err := json.NewDecoder(body).Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		// Read to the end: only then does the server watch the connection
		// and cancel the request when the client hangs up, which is how
		// an SDK's timeout interrupts a cell.
		if _, derr := io.Copy(io.Discard, body); derr != nil {
			err = derr
		} else {
			return nil
		}
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fmt.Errorf("request body is over %d bytes: %w", maxBody, errdefs.ErrInvalidArgument)
	}
	return fmt.Errorf("invalid JSON body: %v: %w", err, errdefs.ErrInvalidArgument)
}

// lineWriter streams messages as newline-delimited JSON, flushing each,
// and drops any that come after the handler is done.
type lineWriter struct {
	mu     sync.Mutex
	w      http.ResponseWriter
	rc     *http.ResponseController
	closed bool
	err    error
}

func newLineWriter(w http.ResponseWriter) *lineWriter {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	l := &lineWriter{w: w, rc: http.NewResponseController(w)}
	// The headers go out now, not with the first message: the SDK starts
	// its execution timeout once it has them, and a silent cell may have
	// nothing to say for a long time.
	l.err = l.rc.Flush()
	return l
}

func (l *lineWriter) Write(msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.err != nil {
		return errors.Join(l.err, errors.New("execution stream closed"))
	}
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		l.err = err
		return err
	}
	l.err = l.rc.Flush()
	return l.err
}

func (l *lineWriter) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in the {code, message} shape of the agent's other
// routes, with the status the error's category maps to.
func writeError(w http.ResponseWriter, err error) {
	status := errdefs.HTTPStatus(err)
	writeJSON(w, status, map[string]any{"code": status, "message": err.Error()})
}
