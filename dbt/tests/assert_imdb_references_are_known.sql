-- A warning, not an error: IMDb's files do reference titles and people that
-- title.basics and name.basics do not have (removed or unpublished). The loader keeps
-- those rows as IMDb wrote them, and the marts leave them out. This says how many such
-- references each file holds (int_references_unmatched), in one test where four
-- relationships tests each re-read a whole raw table or view.
{{ config(severity='warn') }}

select referenced_id, referenced_in, missing_from
from {{ ref('int_references_unmatched') }}
