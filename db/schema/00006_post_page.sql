-- +goose Up
-- post_page chooses one keyset page of posts by id, ascending or descending
-- (newest first), filtered by author and published: its ids, with pos
-- numbering them in order. As user_page (00005) does for users, it is the one
-- definition of a page of posts: ListPostsWithAuthor and
-- ListPostsWithAuthorAndTags select FROM it, and PostgreSQL inlines it (a
-- plain STABLE SQL function of one SELECT), so each direction's branch keeps
-- its index scan. A NULL after_id asks for the first page.
-- +goose StatementBegin
CREATE FUNCTION post_page(descending boolean, author_id bigint, is_published boolean,
                          after_id bigint, max_rows integer)
    RETURNS TABLE (id bigint, pos bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    (SELECT pg.id, row_number() OVER (ORDER BY pg.id) AS pos
     FROM posts pg
     WHERE NOT descending
       AND (author_id IS NULL OR pg.user_id = author_id)
       AND (is_published IS NULL OR pg.published = is_published)
       AND (after_id IS NULL OR pg.id > after_id)
     ORDER BY pg.id
     LIMIT max_rows)
    UNION ALL
    (SELECT pg.id, row_number() OVER (ORDER BY pg.id DESC) AS pos
     FROM posts pg
     WHERE descending
       AND (author_id IS NULL OR pg.user_id = author_id)
       AND (is_published IS NULL OR pg.published = is_published)
       AND (after_id IS NULL OR pg.id < after_id)
     ORDER BY pg.id DESC
     LIMIT max_rows)
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION post_page(boolean, bigint, boolean, bigint, integer);
