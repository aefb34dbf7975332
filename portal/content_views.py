"""The provider's content: collections, their documents, uploads with live ingestion progress,
canonical URLs, and deleting. Every call goes through catalog's services as the member."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import services as accounts
from catalog import errors as catalog_errors
from catalog import services as catalog
from portal.content_forms import CanonicalURLForm, CollectionForm, UploadForm
from portal.pages import actor_of, organization_page, same_organization, show_error
from portal.tables import Badge, Column, Link, render_page, table

DOCUMENTS_PER_PAGE = 50
MAX_EXPORT_ROWS = 100_000
RUNNING = ("queued", "running")
STATUS_TEXT = {
    "queued": "Queued",
    "running": "Processing",
    "succeeded": "Done",
    "partial": "Done, with errors",
    "failed": "Failed",
}
DOCUMENT_STATUS_TEXT = {"pending": "Indexing", "ready": "Ready", "duplicate": "Held out (copy)"}


def _collection_url(org, collection_id) -> str:
    return reverse(
        "portal:collection", kwargs={"organization_id": org.id, "collection_id": collection_id}
    )


def _collections_table(org, collections) -> object:
    return table(
        "collections",
        "Collections",
        ["Name", "Description", Column("Documents", numeric=True), "Topics", "Created"],
        (
            (
                Link(c.name, _collection_url(org, c.id)),
                c.description,
                c.document_count,
                ", ".join(c.topics),
                c.created_at,
            )
            for c in collections
        ),
        empty="No collections yet: create one below, then upload documents into it.",
    )


@organization_page(accounts.PROVIDER)
def collections(request, org):
    """List the provider's collections; create one."""
    actor = actor_of(request)
    form = CollectionForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            created = catalog.create_collection(
                actor=actor, organization_id=org.id, **form.cleaned_data
            )
        except catalog_errors.DomainError as exc:
            status = show_error(form, exc)
        else:
            messages.success(request, f"Collection {created.name} created. Upload documents now.")
            return redirect(_collection_url(org, created.id))
    elif request.method == "POST":
        status = 400
    found = catalog.list_collections(actor=actor, organization_id=org.id)
    return render_page(
        request,
        "portal/collections.html",
        {"org": org, "form": form, "collections": found},
        tables=[_collections_table(org, found)],
        filename="collections",
        status=status,
    )


def _own_collection(request, org, collection_id) -> catalog.CollectionInfo:
    info = catalog.get_collection(actor=actor_of(request), collection_id=collection_id)
    same_organization(org, info.organization_id)
    return info


def _document_url(org, document_id) -> str:
    return reverse(
        "portal:document", kwargs={"organization_id": org.id, "document_id": document_id}
    )


def _documents_table(org, documents) -> object:
    return table(
        "documents",
        "Documents",
        [
            "Title",
            "Status",
            Column("Passages", numeric=True),
            "Canonical URL",
            Column("Version", numeric=True),
            "Updated",
        ],
        (
            (
                Link(d.title or d.external_id, _document_url(org, d.id)),
                Badge(DOCUMENT_STATUS_TEXT.get(d.status, d.status)),
                d.chunk_count,
                d.source_url,
                d.version,
                d.updated_at,
            )
            for d in documents
        ),
        empty="No documents yet: upload files above.",
    )


def _jobs_table(jobs) -> object:
    return table(
        "ingestions",
        "Uploads",
        [
            "Started",
            "Files",
            "Status",
            Column("Processed", numeric=True),
            Column("New", numeric=True),
            Column("Updated", numeric=True),
            Column("Unchanged", numeric=True),
            Column("Failed", numeric=True),
        ],
        (
            (
                j.created_at,
                j.source,
                Badge(STATUS_TEXT.get(j.status, j.status)),
                j.progress.done,
                j.progress.created,
                j.progress.updated,
                j.progress.unchanged,
                j.progress.failed,
            )
            for j in jobs
        ),
        empty="Nothing uploaded yet.",
    )


def _collection_page(request, org, collection, *, upload_form=None, edit_form=None, status=200):
    actor = actor_of(request)
    try:
        number = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        number = 1
    if request.GET.get("format") == "csv":
        number, per_page = 1, None  # an export holds every document, not one page of them
    else:
        per_page = DOCUMENTS_PER_PAGE
    result = catalog.list_documents(
        actor=actor,
        collection_id=collection.id,
        limit=per_page or MAX_EXPORT_ROWS,
        offset=(number - 1) * DOCUMENTS_PER_PAGE,
    )
    pages = max(1, -(-result.total // DOCUMENTS_PER_PAGE))
    documents = result.documents
    jobs = catalog.list_ingestion_jobs(actor=actor, collection_id=collection.id, limit=10)
    edit_form = edit_form or CollectionForm(
        initial={
            "name": collection.name,
            "description": collection.description,
            "language": collection.language,
            "topics": ", ".join(collection.topics),
        }
    )
    context = {
        "org": org,
        "collection": collection,
        "upload_form": upload_form or UploadForm(),
        "edit_form": edit_form,
        "jobs": jobs,
        "page_number": number,
        "pages": pages,
        "document_total": result.total,
        "running": RUNNING,
    }
    if request.htmx and request.GET.get("fragment") == "documents":
        return render(
            request,
            "portal/_documents.html",
            {**context, "tables": {"documents": _documents_table(org, documents)}},
        )
    return render_page(
        request,
        "portal/collection.html",
        context,
        tables=[_documents_table(org, documents), _jobs_table(jobs)],
        filename=f"collection-{collection.id}",
        status=status,
    )


@organization_page(accounts.PROVIDER)
def collection(request, org, collection_id):
    """A collection: its documents, uploads and their progress, its details."""
    found = _own_collection(request, org, collection_id)
    if request.method != "POST":
        return _collection_page(request, org, found)
    form = CollectionForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            catalog.update_collection(
                actor=actor_of(request), collection_id=found.id, **form.cleaned_data
            )
        except catalog_errors.DomainError as exc:
            status = show_error(form, exc)
        else:
            messages.success(request, "Collection details saved.")
            return redirect(_collection_url(org, found.id))
    return _collection_page(request, org, found, edit_form=form, status=status)


@organization_page(accounts.PROVIDER)
@require_POST
def upload(request, org, collection_id):
    """Accept several files as one ingestion job; its progress shows on the collection page."""
    found = _own_collection(request, org, collection_id)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _collection_page(request, org, found, upload_form=form, status=400)
    files = [
        catalog.UploadedFile(
            name=f.name,
            content_type=f.content_type or "",
            size=f.size,
            open=lambda f=f: f,
        )
        for f in form.cleaned_data["files"]
    ]
    try:
        job = catalog.start_upload_ingestion(
            actor=actor_of(request), collection_id=found.id, files=files
        )
    except catalog_errors.DomainError as exc:
        status = show_error(form, exc)
        return _collection_page(request, org, found, upload_form=form, status=status)
    count = len(files)
    messages.success(request, f"{count} file{'s'[: count != 1]} received: processing them now.")
    return redirect(f"{_collection_url(org, found.id)}#job-{job.id}")


def _own_job(request, org, job_id) -> catalog.IngestionJobInfo:
    job = catalog.get_ingestion_job(actor=actor_of(request), job_id=job_id)
    _own_collection(request, org, job.collection_id)
    return job


@organization_page(accounts.PROVIDER)
def ingestion_job(request, org, job_id):
    """One upload's progress and per-file errors; polled by the collection page while it runs."""
    job = _own_job(request, org, job_id)
    context = {"org": org, "job": job, "running": RUNNING}
    if request.htmx:
        response = render(request, "portal/_job.html", context)
        if job.status not in RUNNING:
            response["HX-Trigger"] = "ingestion-finished"  # the document list reloads
        return response
    return render(request, "portal/ingestion_job.html", context)


@organization_page(accounts.PROVIDER)
@require_POST
def retry_job(request, org, job_id):
    """Run an upload's failed files again."""
    job = _own_job(request, org, job_id)
    catalog.retry_ingestion_job(actor=actor_of(request), job_id=job.id)
    messages.success(request, "Retrying the files that failed.")
    return redirect(f"{_collection_url(org, job.collection_id)}#job-{job.id}")


@organization_page(accounts.PROVIDER)
@require_POST
def delete_collection(request, org, collection_id):
    found = _own_collection(request, org, collection_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm deleting the collection.")
        return redirect(_collection_url(org, found.id))
    catalog.delete_collection(actor=actor_of(request), collection_id=found.id)
    messages.success(request, f"Collection {found.name} and its documents are deleted.")
    return redirect("portal:collections", organization_id=org.id)


def _own_document(request, org, document_id) -> catalog.DocumentInfo:
    document = catalog.get_document(actor=actor_of(request), document_id=document_id)
    same_organization(org, document.organization_id)
    return document


@organization_page(accounts.PROVIDER)
def document(request, org, document_id):
    """A document: its details and text; set its canonical URL."""
    found = _own_document(request, org, document_id)
    form = CanonicalURLForm(request.POST or None, initial={"source_url": found.source_url})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                catalog.set_canonical_url(
                    actor=actor_of(request),
                    document_id=found.id,
                    source_url=form.cleaned_data["source_url"],
                )
            except catalog_errors.DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, "Canonical URL saved: citations link there now.")
                return redirect(_document_url(org, found.id))
    collection_info = catalog.get_collection(
        actor=actor_of(request), collection_id=found.collection_id
    )
    return render(
        request,
        "portal/document.html",
        {
            "org": org,
            "document": found,
            "collection": collection_info,
            "form": form,
            "status_text": DOCUMENT_STATUS_TEXT.get(found.status, found.status),
        },
        status=status,
    )


@organization_page(accounts.PROVIDER)
@require_POST
def delete_document(request, org, document_id):
    found = _own_document(request, org, document_id)
    catalog.delete_document(actor=actor_of(request), document_id=found.id)
    messages.success(request, f"Document {found.title or found.external_id} is deleted.")
    return redirect(_collection_url(org, found.collection_id))
