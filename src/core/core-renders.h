/* rg-core's PDF generation routes (core-renders.c, docs/flow.md). */
#ifndef CORE_RENDERS_H
#define CORE_RENDERS_H

struct core_req;

void core_h_render_create(struct core_req *req);  /* POST resumes/{id}/renders */
void core_h_resume_renders(struct core_req *req); /* GET resumes/{id}/renders */
void core_h_render_get(struct core_req *req);     /* GET renders/{id} */
void core_h_render_pdf(struct core_req *req);     /* GET renders/{id}/pdf */
void core_h_public_pdf(struct core_req *req);     /* GET public/{slug}/pdf */

#endif
