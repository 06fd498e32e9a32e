package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tokenmint/tokenmint/internal/httpx"
)

// ErrNoID is returned when an operation by ID gets none.
var ErrNoID = errors.New("no token ID")

// DeleteByID sends the revocation most services share, DELETE
// {collection}/{id} (the ID path-escaped), and treats 404 and 410 as
// success: the token is already gone.
func DeleteByID(ctx context.Context, c *httpx.Client, collection, id string, h http.Header) error {
	if id == "" {
		return fmt.Errorf("failed to revoke: %w", ErrNoID)
	}
	_, err := c.Do(ctx, &httpx.Request{
		Method: http.MethodDelete, URL: collection + "/" + url.PathEscape(id), Header: h,
		OK: []int{http.StatusNotFound, http.StatusGone},
	})
	return err
}
