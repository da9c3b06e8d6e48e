from django.http import HttpResponse


def dashboard(request):
    return HttpResponse("")


def table_csv(request):
    return HttpResponse("")
