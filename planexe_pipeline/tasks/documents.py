"""Documents: which documents to find and to create, triaged, then drafted one call each."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import documents, draft_documents
from planexe_pipeline.stages.documents import Document, FilteredDocuments
from planexe_pipeline.stages.draft_documents import DraftedDocumentToCreate, DraftedDocumentToFind
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import LLMStage, MarkdownStage
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import IDEA

__all__ = ["IdentifyDocuments", "FilterDocumentsToFind", "FilterDocumentsToCreate", "DraftDocumentToFindItem",
           "DraftDocumentsToFind", "DraftDocumentToCreateItem", "DraftDocumentsToCreate", "DocumentsMarkdown"]


class IdentifyDocuments(LLMStage):
    number, stem = 44, "identify_documents"
    inputs = {"plan": IDEA, "assumptions": Input(ConsolidateAssumptions, "the permits, data and figures assumed"),
              "project_plan": Input(ProjectPlan, "the deliverables and dependencies that need documents")}
    execute, to_markdown = documents.execute_identify, documents.identify_to_markdown


IDENTIFIED = Input(IdentifyDocuments, "the documents of its kind, to triage")


class FilterDocumentsToFind(LLMStage):
    number, stem = 45, "filter_documents_to_find"
    inputs = {"plan": IDEA, "identified": IDENTIFIED}
    execute, to_markdown = documents.execute_filter_to_find, documents.filter_to_markdown


class FilterDocumentsToCreate(LLMStage):
    number, stem = 46, "filter_documents_to_create"
    inputs = {"plan": IDEA, "identified": IDENTIFIED}
    execute, to_markdown = documents.execute_filter_to_create, documents.filter_to_markdown


# A draft is written for this plan: its idea and its project plan.
DRAFT_CONTEXT = {"plan": IDEA, "project_plan": Input(ProjectPlan, "the place, scale, budget and dates to write for")}


class DraftDocumentToFindItem(FanOutItem[Document]):
    number, stem = 47, "draft_documents_to_find"
    result_model = DraftedDocumentToFind
    items_input = "filtered"
    inputs = {"filtered": Input(FilterDocumentsToFind, "the documents kept, one draft each"), **DRAFT_CONTEXT}
    execute = draft_documents.draft_document_to_find

    def all_items(self):
        return self.read("filtered", FilteredDocuments).kept


class DraftDocumentsToFind(FanOutMerge):
    item_task = DraftDocumentToFindItem
    execute, to_markdown = draft_documents.merge_to_find, draft_documents.find_to_markdown


class DraftDocumentToCreateItem(FanOutItem[Document]):
    number, stem = 48, "draft_documents_to_create"
    result_model = DraftedDocumentToCreate
    items_input = "filtered"
    inputs = {"filtered": Input(FilterDocumentsToCreate, "the documents kept, one draft each"), **DRAFT_CONTEXT}
    execute = draft_documents.draft_document_to_create

    def all_items(self):
        return self.read("filtered", FilteredDocuments).kept


class DraftDocumentsToCreate(FanOutMerge):
    item_task = DraftDocumentToCreateItem
    execute, to_markdown = draft_documents.merge_to_create, draft_documents.create_to_markdown


class DocumentsMarkdown(MarkdownStage):
    """Both drafted lists as the plan's documents chapter (from the json: it nests the
    headings one level deeper than the two merge sections do)."""

    number, stem = 49, "documents"
    section = Section("documents", "Documents", position=130)
    inputs = {"find": Input(DraftDocumentsToFind, "the drafted documents to find"),
              "create": Input(DraftDocumentsToCreate, "the drafted documents to create")}
    execute = draft_documents.documents_markdown
