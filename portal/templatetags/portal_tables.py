"""`{% export_url name %}` and `{% cell_html cell columns index %}` for portal/_table.html."""

from django import template
from django.utils.html import format_html

from portal.tables import Badge, Link, cell_text

register = template.Library()


@register.simple_tag(takes_context=True)
def export_url(context, name: str) -> str:
    """Return this page's URL, with its query, asking for table `name` as CSV."""
    request = context["request"]
    query = request.GET.copy()
    query["format"] = "csv"
    query["table"] = name
    return f"{request.path}?{query.urlencode()}"


@register.simple_tag
def cell_html(cell, columns, index: int) -> str:
    """Return one `<td>`: links as links, badges as badges, numbers aligned right."""
    numeric = columns[index].numeric
    text = cell_text(cell)
    if isinstance(cell, Link):
        inner = format_html('<a href="{}">{}</a>', cell.href, text)
    elif isinstance(cell, Badge):
        inner = format_html('<span class="badge {}">{}</span>', text.split(" ")[0].lower(), text)
    else:
        inner = format_html("{}", text)
    if numeric:
        return format_html('<td class="num">{}</td>', inner)
    return format_html("<td>{}</td>", inner)
