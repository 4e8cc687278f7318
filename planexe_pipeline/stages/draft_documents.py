"""Draft each kept document: one LLM call per document, merged in id order.

A document to find gets a search brief (where to look, what to check in it, the steps to get
it); a document to create gets a first outline (purpose, sections, key content). Each call
sees the plan, the project plan and that one document, so the calls are independent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.documents import Document
from planexe_pipeline.stages.markdown import bullets, condensed_user_prompt, document, heading, one_line

# -- documents to find --------------------------------------------------------------------------
class FindBrief(BaseModel):
    where_to_find: list[str] = Field(json_schema_extra=bounded(4, chars=200, soft=True),
        description="Two to four concrete places to look, most likely first: named agencies, registries, databases, archives.")
    what_to_look_for: list[str] = Field(json_schema_extra=bounded(6, chars=200, soft=True),
        description="The figures, clauses, maps or conditions in it that this plan needs, one per item.")
    steps: list[str] = Field(description="Steps to obtain it, in order, including any request, fee or contact.",
                             json_schema_extra=bounded(8, chars=240, soft=True))
    access_difficulty: Literal["easy", "moderate", "hard"] = Field(
        description="easy: public download; moderate: request or fee; hard: negotiation, licence or none may exist.")
    fallback: str = Field(description="What to use or do if the document cannot be obtained in time.")


class DraftedDocumentToFind(BaseModel):
    document: Document
    brief: FindBrief


FIND_SYSTEM_PROMPT = """You prepare a search brief for one existing document a project needs.
Say where it is most likely held (name the agency, registry or database for the plan's country
and sector), what exactly to look for in it and why it matters to this plan, and the steps to
obtain it with any request, fee or waiting time. Rate how hard it is to get and give a fallback
if it cannot be had in time. Be specific to this plan; no generic research advice."""


def draft_document_to_find(llm: LLMExecutor, doc: Document, *, plan: str, project_plan: str) -> DraftedDocumentToFind:
    user = condensed_user_prompt(plan=plan, project_plan=project_plan, tail={"document_to_find": _document_text(doc)})
    return DraftedDocumentToFind(document=doc, brief=llm.structured(FindBrief, FIND_SYSTEM_PROMPT, user))


# -- documents to create ------------------------------------------------------------------------
class OutlineSection(BaseModel):
    heading: str = Field(description="Section heading of the document.")
    content: str = Field(description="Two to four sentences of what this section says for this plan.")


class CreateDraft(BaseModel):
    purpose: str = Field(description="What the document decides or enables, and for whom, in two sentences.")
    outline: list[OutlineSection] = Field(description="The document's sections in order, each with its draft content.",
                                          json_schema_extra=bounded(8, soft=True))
    key_content: list[str] = Field(json_schema_extra=bounded(6, chars=240, soft=True),
        description="Facts, figures, decisions or commitments it must contain, specific to this plan.")
    approval: str = Field(description="Who reviews and signs it off, and by which milestone.")


class DraftedDocumentToCreate(BaseModel):
    document: Document
    draft: CreateDraft


CREATE_SYSTEM_PROMPT = """You write the first draft outline of one document a project team must produce.
State its purpose, then lay out its sections in order, each with a few sentences of draft
content written for this plan (its place, scale, budget and risks), not placeholders.
List the key facts, decisions and commitments it must contain, and who approves it by when."""


def draft_document_to_create(llm: LLMExecutor, doc: Document, *, plan: str,
                             project_plan: str) -> DraftedDocumentToCreate:
    user = condensed_user_prompt(plan=plan, project_plan=project_plan, tail={"document_to_create": _document_text(doc)})
    return DraftedDocumentToCreate(document=doc, draft=llm.structured(CreateDraft, CREATE_SYSTEM_PROMPT, user))


def _document_text(doc: Document) -> str:
    source = "Likely source" if doc.kind == "find" else "Written by"
    return f"{doc.id}: {one_line(doc.title)}\n\n{one_line(doc.description)}\n\n{source}: {one_line(doc.source_or_owner)}"


# -- merged sections ----------------------------------------------------------------------------
class DraftedDocumentsToFind(BaseModel):
    documents: list[DraftedDocumentToFind] = Field(default_factory=list, description="In fan-out index order.")


class DraftedDocumentsToCreate(BaseModel):
    documents: list[DraftedDocumentToCreate] = Field(default_factory=list, description="In fan-out index order.")


def find_blocks(drafts: DraftedDocumentsToFind, level: int) -> list[str]:
    if not drafts.documents:
        return ["_No documents to find were kept for this plan._"]
    blocks: list[str] = []
    for d in drafts.documents:
        b = d.brief
        blocks += [
            heading(f"{d.document.id} {d.document.title}", level),
            one_line(d.document.description),
            f"**Access:** {b.access_difficulty}. **Fallback:** {one_line(b.fallback)}",
            "**Where to find it**", bullets(b.where_to_find),
            "**What to look for**", bullets(b.what_to_look_for),
            "**Steps**", "\n".join(f"{i}. {one_line(s)}" for i, s in enumerate(b.steps, 1)) or "_None._",
        ]
    return blocks


def create_blocks(drafts: DraftedDocumentsToCreate, level: int) -> list[str]:
    if not drafts.documents:
        return ["_No documents to create were kept for this plan._"]
    blocks: list[str] = []
    for d in drafts.documents:
        x = d.draft
        outline = "\n".join(f"{i}. **{one_line(s.heading)}**: {one_line(s.content)}"
                            for i, s in enumerate(x.outline, 1)) or "_None._"
        blocks += [
            heading(f"{d.document.id} {d.document.title}", level),
            f"**Purpose:** {one_line(x.purpose)}",
            f"**Written by:** {one_line(d.document.source_or_owner)}. **Approval:** {one_line(x.approval)}",
            "**Outline**", outline,
            "**Key content**", bullets(x.key_content),
        ]
    return blocks


def merge_to_find(drafts: list[DraftedDocumentToFind]) -> DraftedDocumentsToFind:
    return DraftedDocumentsToFind(documents=drafts)


def merge_to_create(drafts: list[DraftedDocumentToCreate]) -> DraftedDocumentsToCreate:
    return DraftedDocumentsToCreate(documents=drafts)


def find_to_markdown(drafts: DraftedDocumentsToFind) -> str:
    return document("Documents to find", *find_blocks(drafts, 3))


def create_to_markdown(drafts: DraftedDocumentsToCreate) -> str:
    return document("Documents to create", *create_blocks(drafts, 3))


def documents_markdown(find: DraftedDocumentsToFind, create: DraftedDocumentsToCreate) -> str:
    """The plan's documents chapter: both drafted lists under one heading."""
    return document(
        "Documents",
        heading("Documents to find", 3), *find_blocks(find, 4),
        heading("Documents to create", 3), *create_blocks(create, 4),
    )
