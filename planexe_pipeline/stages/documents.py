"""IdentifyDocuments and the two filters: which documents the plan needs before work starts.

Two kinds: documents to FIND (they exist somewhere: data, permits, studies, statistics,
regulations) and documents to CREATE (the project writes them: charters, plans, specs).
Our code numbers them DF-1.. and DC-1..; a filter asks the model which of one list matter
most and maps its answer back onto those ids, so the two filters never wait for each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.answer_ids import map_answers
from planexe_pipeline.stages.markdown import user_prompt, document, heading, one_line, table

FIND_PREFIX = "DF"
MAX_DOCUMENTS = 8  # of each kind: to find, to create
FILTERED_DOCUMENTS = MAX_DOCUMENTS  # a filter reads one kind
CREATE_PREFIX = "DC"


# -- identify ---------------------------------------------------------------------------------
class DocumentToFindAnswer(BaseModel):
    title: str = Field(description="Name of the existing document or data set, e.g. 'National grid connection rules'.")
    description: str = Field(description="What it contains and which decision of this plan it informs.",
                             json_schema_extra=bounded(chars=300))
    likely_source: str = Field(description="Who holds or publishes it: an agency, registry, database or company.")


class DocumentToCreateAnswer(BaseModel):
    title: str = Field(description="Name of the document the project must write, e.g. 'Project charter'.")
    description: str = Field(description="What it must settle and which step of the plan waits for it.",
                             json_schema_extra=bounded(chars=300))
    responsible_role: str = Field(description="Role that should write it (a role, not a person's name).")


class IdentifiedDocumentsAnswer(BaseModel):
    documents_to_find: list[DocumentToFindAnswer] = Field(
        description="Existing documents, data, permits, studies or statistics to obtain, most needed first.",
        json_schema_extra=bounded(MAX_DOCUMENTS, width="documents_to_find", soft=True))
    documents_to_create: list[DocumentToCreateAnswer] = Field(
        description="Documents the project team must write (charters, plans, specifications), most needed first.",
        json_schema_extra=bounded(MAX_DOCUMENTS, width="documents_to_create", soft=True))


class Document(BaseModel):
    id: str = Field(description="Our id: DF-n for documents to find, DC-n for documents to create.")
    kind: Literal["find", "create"]
    title: str
    description: str
    source_or_owner: str = Field(description="Where to find it (find) or who writes it (create).")


class IdentifiedDocuments(BaseModel):
    documents_to_find: list[Document] = Field(default_factory=list)
    documents_to_create: list[Document] = Field(default_factory=list)


IDENTIFY_SYSTEM_PROMPT = """You list the documents a project needs before and during its first phase.
Split them in two: documents to FIND, which already exist elsewhere (official statistics,
market data, permits and their rules, regulations, site or feasibility studies), and documents
to CREATE, which the team must write (charter, budget, risk register, specifications,
procurement and communication plans). Name each specifically for this plan and its location,
say what it settles, and say where it comes from or which role writes it."""


def number_documents(answer: IdentifiedDocumentsAnswer) -> IdentifiedDocuments:
    """Our ids by position in each list; any id the model might have written plays no part."""
    return IdentifiedDocuments(
        documents_to_find=[
            Document(id=f"{FIND_PREFIX}-{i}", kind="find", title=one_line(d.title), description=d.description,
                     source_or_owner=d.likely_source)
            for i, d in enumerate(answer.documents_to_find, 1)],
        documents_to_create=[
            Document(id=f"{CREATE_PREFIX}-{i}", kind="create", title=one_line(d.title), description=d.description,
                     source_or_owner=d.responsible_role)
            for i, d in enumerate(answer.documents_to_create, 1)],
    )


def execute_identify(llm: LLMExecutor, *, plan: str, assumptions: str, project_plan: str) -> IdentifiedDocuments:
    user = user_prompt(plan=plan, assumptions=assumptions, project_plan=project_plan)
    return number_documents(llm.structured(IdentifiedDocumentsAnswer, IDENTIFY_SYSTEM_PROMPT, user))


def documents_table(documents: list[Document]) -> str:
    source = "Where to find it" if documents and documents[0].kind == "find" else "Written by"
    return table(["ID", "Document", source, "What it settles"],
                 [[d.id, d.title, d.source_or_owner, d.description] for d in documents])


def identify_to_markdown(result: IdentifiedDocuments) -> str:
    return document(
        "Documents needed",
        heading("Documents to find", 3), documents_table(result.documents_to_find),
        heading("Documents to create", 3), documents_table(result.documents_to_create),
    )


# -- filter -----------------------------------------------------------------------------------
class DocumentVerdict(BaseModel):
    document_id: str = Field(description="Id of the document judged, exactly as listed (e.g. DF-3).")
    keep: bool = Field(description="true if the plan cannot proceed well without it; false if it can wait.")
    importance: Literal["critical", "high", "medium", "low"] = Field(
        description="How much the first phase depends on it.")
    rationale: str = Field(description="One sentence: why it is kept or left out.",
                           json_schema_extra=bounded(chars=240))


class FilterAnswer(BaseModel):
    verdicts: list[DocumentVerdict] = Field(description="One verdict per listed document, in list order.",
                                            json_schema_extra=bounded(FILTERED_DOCUMENTS, soft=True))


class FilterDecision(BaseModel):
    document_id: str
    title: str
    keep: bool
    importance: str
    rationale: str
    defaulted: bool = Field(default=False, description="The model gave no verdict for this id; kept by our rule.")
    drafted_as: str = Field(default="", description="The id the document is drafted under, if kept.")


class FilteredDocuments(BaseModel):
    kind: Literal["find", "create"]
    kept: list[Document] = Field(default_factory=list,
                                 description="Documents to draft, in id order, numbered again without gaps.")
    decisions: list[FilterDecision] = Field(default_factory=list, description="One per identified document.")
    ignored_answers: list[str] = Field(default_factory=list, description="Verdicts dropped by our id rule.")


FILTER_SYSTEM_PROMPT = """You triage a list of documents for a project plan; only the ones kept get drafted.
Keep the documents without which the first phase would stall, go wrong or break a rule;
leave out duplicates, nice-to-haves and anything that can wait until later phases.
Give a verdict for every listed id, exactly as written, with its importance and one sentence why."""


def apply_verdicts(documents: list[Document], kind: Literal["find", "create"], answer: FilterAnswer) -> FilteredDocuments:
    """A document the model gave no valid verdict for is kept, flagged: nothing is left out
    without a judgement. So an answer with no valid id keeps every document. The kept documents
    are the plan's documents: numbered again in order (DF-1, DF-2, ...), so the plan shows no
    gaps where documents were left out; each decision says which id its document is drafted as."""
    mapping = map_answers([d.id for d in documents], answer.verdicts, lambda v: v.document_id)
    decisions: list[FilterDecision] = []
    for doc in documents:
        verdict = mapping.get(doc.id)
        if verdict is None:
            decisions.append(FilterDecision(document_id=doc.id, title=doc.title, keep=True, importance="unknown",
                                            rationale="No verdict from the model; kept.", defaulted=True))
        else:
            decisions.append(FilterDecision(document_id=doc.id, title=doc.title, keep=verdict.keep, importance=verdict.importance,
                                            rationale=verdict.rationale))
    prefix = FIND_PREFIX if kind == "find" else CREATE_PREFIX
    drafted = {d.document_id: f"{prefix}-{n}" for n, d in enumerate((d for d in decisions if d.keep), 1)}
    return FilteredDocuments(kind=kind, kept=[d.model_copy(update={"id": drafted[d.id]}) for d in documents if d.id in drafted],
                             decisions=[d.model_copy(update={"drafted_as": drafted.get(d.document_id, "")})
                                        for d in decisions],
                             ignored_answers=mapping.dropped)


def execute_filter(llm: LLMExecutor, plan: str, documents: list[Document],
                   kind: Literal["find", "create"]) -> FilteredDocuments:
    if not documents:
        return FilteredDocuments(kind=kind)  # nothing to judge: no call
    label = "documents_to_find" if kind == "find" else "documents_to_create"
    user = user_prompt(plan=plan, **{label: documents_table(documents)})
    return apply_verdicts(documents, kind, llm.structured(FilterAnswer, FILTER_SYSTEM_PROMPT, user))


def execute_filter_to_find(llm: LLMExecutor, *, plan: str, identified: IdentifiedDocuments) -> FilteredDocuments:
    return execute_filter(llm, plan, identified.documents_to_find, "find")


def execute_filter_to_create(llm: LLMExecutor, *, plan: str, identified: IdentifiedDocuments) -> FilteredDocuments:
    return execute_filter(llm, plan, identified.documents_to_create, "create")


def filter_to_markdown(result: FilteredDocuments) -> str:
    title = "Documents to find: triage" if result.kind == "find" else "Documents to create: triage"
    rows = [[d.document_id, d.title, d.drafted_as or "no", d.importance + (" (no verdict)" if d.defaulted else ""),
             d.rationale] for d in result.decisions]
    kept = f"{len(result.kept)} of {len(result.decisions)}" if result.kept else "none"
    return document(title, f"Kept for drafting: {kept}, numbered again in order.",
                    table(["ID", "Document", "Drafted as", "Importance", "Why"], rows))
