#include "services/opportunities/src/opportunity_handler.h"

#include "common/server/forwarding_rpc.h"

namespace crm::opportunities {

#define CRM_DEFINE(Rpc, Request, Response) CRM_FORWARDING_RPC(OpportunityHandler, Rpc, Request, Response)
CRM_OPPORTUNITY_RPCS(CRM_DEFINE)
#undef CRM_DEFINE

}  // namespace crm::opportunities
