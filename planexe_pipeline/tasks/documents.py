"""Documents: which documents to find and to create, triaged, then drafted one call each."""

from __future__ import annotations

from planexe_pipeline.report.sections import Section
from planexe_pipeline.stages import documents, draft_documents
from planexe_pipeline.stages.documents import Document, FilteredDocuments, IdentifiedDocuments
from planexe_pipeline.stages.draft_documents import (DraftedDocumentsToCreate, DraftedDocumentsToFind,
                                                     DraftedDocumentToCreate, DraftedDocumentToFind)
from planexe_pipeline.tasks.assumptions import ConsolidateAssumptions
from planexe_pipeline.tasks.base import FanOutItem, FanOutMerge, LLMTask, PlanTask
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.setup import Setup

__all__ = ["IdentifyDocuments", "FilterDocumentsToFind", "FilterDocumentsToCreate", "DraftDocumentToFindItem",
           "DraftDocumentsToFind", "DraftDocumentToCreateItem", "DraftDocumentsToCreate", "DocumentsMarkdown"]


class IdentifyDocuments(LLMTask):
    group = "documents"
    number, stem = 40, "identify_documents"

    def requires(self):
        return {"setup": self.clone(Setup), "assumptions": self.clone(ConsolidateAssumptions),
                "project_plan": self.clone(ProjectPlan)}

    def run(self):
        result = documents.execute_identify(self.executor(), plan=self.input_text("setup", "plan"),
                                            assumptions=self.input_text("assumptions"),
                                            project_plan=self.input_text("project_plan"))
        self.write_stage(result, documents.identify_to_markdown(result))


class _FilterDocuments(LLMTask):
    group = "documents"
    kind: str

    def requires(self):
        return {"setup": self.clone(Setup), "identified": self.clone(IdentifyDocuments)}

    def run(self):
        identified = self.input_model("identified", IdentifiedDocuments)
        listed = identified.documents_to_find if self.kind == "find" else identified.documents_to_create
        result = documents.execute_filter(self.executor(), self.input_text("setup", "plan"), listed, self.kind)
        self.write_stage(result, documents.filter_to_markdown(result))


class FilterDocumentsToFind(_FilterDocuments):
    kind = "find"
    number, stem = 41, "filter_documents_to_find"


class FilterDocumentsToCreate(_FilterDocuments):
    kind = "create"
    number, stem = 42, "filter_documents_to_create"


class DraftDocumentToFindItem(FanOutItem[Document]):
    group = "documents"
    number, stem = 43, "draft_documents_to_find"
    result_model = DraftedDocumentToFind

    def list_requires(self):
        return {"filtered": self.clone(FilterDocumentsToFind)}

    def context_requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan)}

    def all_items(self):
        return self.input_model("filtered", FilteredDocuments).kept

    def process(self, item: Document):
        return draft_documents.draft_document_to_find(self.executor(), self.input_text("setup", "plan"),
                                                      self.input_text("project_plan"), item)


class DraftDocumentsToFind(FanOutMerge):
    item_task = DraftDocumentToFindItem

    def merge(self, results):
        merged = DraftedDocumentsToFind(documents=results)
        self.write_stage(merged, draft_documents.find_to_markdown(merged))


class DraftDocumentToCreateItem(FanOutItem[Document]):
    group = "documents"
    number, stem = 44, "draft_documents_to_create"
    result_model = DraftedDocumentToCreate

    def list_requires(self):
        return {"filtered": self.clone(FilterDocumentsToCreate)}

    def context_requires(self):
        return {"setup": self.clone(Setup), "project_plan": self.clone(ProjectPlan)}

    def all_items(self):
        return self.input_model("filtered", FilteredDocuments).kept

    def process(self, item: Document):
        return draft_documents.draft_document_to_create(self.executor(),
                                                        self.input_text("setup", "plan"),
                                                        self.input_text("project_plan"), item)


class DraftDocumentsToCreate(FanOutMerge):
    item_task = DraftDocumentToCreateItem

    def merge(self, results):
        merged = DraftedDocumentsToCreate(documents=results)
        self.write_stage(merged, draft_documents.create_to_markdown(merged))


class DocumentsMarkdown(PlanTask):
    """Both drafted lists as the plan's documents chapter (from the json: it nests the
    headings one level deeper than the two merge sections do)."""

    group = "documents"
    number, stem, kinds = 45, "documents", ("md",)
    section = Section("documents", "Documents", position=130)

    def requires(self):
        return {"find": self.clone(DraftDocumentsToFind), "create": self.clone(DraftDocumentsToCreate)}

    def run(self):
        self.write_text("md", draft_documents.documents_markdown(
            self.input_model("find", DraftedDocumentsToFind), self.input_model("create", DraftedDocumentsToCreate)))
