from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from portal.roles.menu import items_for
from portal.roles.scoping import grants


@login_required
def home(request):
    """Each user's start page: what their roles let them do, grouped."""
    groups: dict[str, list[dict]] = {}
    for item in items_for(request.user, with_counts=True):
        groups.setdefault(str(item["group"]), []).append(item)
    return render(request, "portal/home.html", {"groups": groups, "has_roles": bool(grants(request.user))})


def health(request):
    """Liveness for load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
